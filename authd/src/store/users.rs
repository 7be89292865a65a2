//! Users and groups: the accounts the policy authorizes and the
//! attributes their groups give them by default.

use super::BeginWrite;
use super::*;

impl Store {
    // ----- users -------------------------------------------------------

    /// Adds a user. Fails with [`StoreError::Duplicate`] if the name is
    /// taken, [`StoreError::NotFound`] if the group does not exist.
    pub async fn add_user(
        &self,
        name: &str,
        attrs: &UserAttributes,
        enabled: bool,
    ) -> Result<(), StoreError> {
        validate::user_name(name)?;
        validate::attributes(attrs.vlan.as_deref(), attrs.session_timeout)?;
        let detail = format!(
            "enabled={enabled} group={} vlan={} session_timeout={}",
            show(&attrs.group),
            show(&attrs.vlan),
            show(&attrs.session_timeout)
        );
        let now = unix_now();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if let Some(group) = &attrs.group
                && count!(tx, "SELECT COUNT(*) FROM groups WHERE name = $1", group) == 0
            {
                return Err(StoreError::NotFound { kind: "group", name: group.clone() });
            }
            sqlx::query(
                "INSERT INTO users (name, enabled, group_name, vlan, session_timeout, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(name)
            .bind(enabled)
            .bind(&attrs.group)
            .bind(&attrs.vlan)
            .bind(attrs.session_timeout.map(i64::from))
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(unique("user", name))?;
            audit!(tx, &self.actor, "user.add", name, detail);
            tx.commit().await?;
        });
        Ok(())
    }

    /// All users, by name.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows: Vec<model::UserRow> = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(format!("{} ORDER BY name", model::USER_SELECT)))
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(User::from).collect())
    }

    /// One user.
    pub async fn user(&self, name: &str) -> Result<User, StoreError> {
        let row: Option<model::UserRow> = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(format!("{} WHERE name = $1", model::USER_SELECT)))
                .bind(name)
                .fetch_optional(pool)
                .await?
        });
        row.map(User::from).ok_or_else(|| StoreError::NotFound {
            kind: "user",
            name: name.to_owned(),
        })
    }

    /// Changes a user's group, VLAN or Session-Timeout.
    pub async fn update_user(&self, name: &str, update: &UserUpdate) -> Result<(), StoreError> {
        if let Change::Set(v) = &update.vlan {
            validate::vlan(v)?;
        }
        if let Change::Set(t) = update.session_timeout {
            validate::session_timeout(t)?;
        }
        let detail = update.describe();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if count!(tx, "SELECT COUNT(*) FROM users WHERE name = $1", name) == 0 {
                return Err(StoreError::NotFound { kind: "user", name: name.to_owned() });
            }
            if let Change::Set(group) = &update.group
                && count!(tx, "SELECT COUNT(*) FROM groups WHERE name = $1", group) == 0
            {
                return Err(StoreError::NotFound { kind: "group", name: group.clone() });
            }
            if let Some(v) = update.group.as_update() {
                sqlx::query("UPDATE users SET group_name = $1 WHERE name = $2")
                    .bind(v).bind(name).execute(&mut *tx).await?;
            }
            if let Some(v) = update.vlan.as_update() {
                sqlx::query("UPDATE users SET vlan = $1 WHERE name = $2")
                    .bind(v).bind(name).execute(&mut *tx).await?;
            }
            if let Some(v) = update.session_timeout.as_update() {
                sqlx::query("UPDATE users SET session_timeout = $1 WHERE name = $2")
                    .bind(v.map(i64::from)).bind(name).execute(&mut *tx).await?;
            }
            audit!(tx, &self.actor, "user.set", name, detail);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Enables or disables a user; takes effect on its next authentication.
    pub async fn set_user_enabled(&self, name: &str, enabled: bool) -> Result<(), StoreError> {
        let action = if enabled {
            "user.enable"
        } else {
            "user.disable"
        };
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query("UPDATE users SET enabled = $1 WHERE name = $2")
                .bind(enabled)
                .bind(name)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound { kind: "user", name: name.to_owned() });
            }
            let queued = if enabled { 0 } else { enqueue_disconnects!(tx, disconnect::Target::User(name), action, &self.actor) };
            audit!(tx, &self.actor, action, name, "");
            tx.commit().await?;
            self.disconnects_queued(queued);
        });
        Ok(())
    }

    /// Deletes a user and revokes its certificates that are not revoked yet
    /// (reason cessationOfOperation), so the next CRL lists them. Returns
    /// the number of certificates revoked.
    pub async fn delete_user(&self, name: &str) -> Result<u64, StoreError> {
        let now = unix_now();
        let revoked = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query("DELETE FROM users WHERE name = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound { kind: "user", name: name.to_owned() });
            }
            let revoked = sqlx::query(
                "UPDATE certificates SET revoked_at = $1, reason = $2 \
                 WHERE user_name = $3 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(RevocationReasonName::CessationOfOperation.as_str())
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let queued = enqueue_disconnects!(tx, disconnect::Target::User(name), "user.delete", &self.actor);
            audit!(tx, &self.actor, "user.delete", name, format!("certificates_revoked={revoked}"));
            tx.commit().await?;
            self.disconnects_queued(queued);
            revoked
        });
        Ok(revoked)
    }

    /// Whether `password` is the user's password. `false` for an unknown
    /// user or one without a password; a failed check costs the same time as
    /// a good one only for users that have a hash.
    pub async fn verify_password(&self, name: &str, password: &str) -> Result<bool, StoreError> {
        let hash: Option<Option<String>> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT password_hash FROM users WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await?
        });
        Ok(match hash.flatten() {
            Some(h) => verify_password(&h, password),
            None => false,
        })
    }

    /// What the policy needs to authorize `name`: `None` if there is no
    /// such user. VLAN and Session-Timeout are the user's if set, else the
    /// group's.
    pub async fn authorization(&self, name: &str) -> Result<Option<Authorization>, StoreError> {
        let row: Option<model::AuthorizationRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT u.enabled AS enabled, u.group_name AS group_name, \
                        u.vlan AS vlan, u.session_timeout AS session_timeout, \
                        g.vlan AS group_vlan, g.session_timeout AS group_session_timeout \
                 FROM users u LEFT JOIN groups g ON g.name = u.group_name \
                 WHERE u.name = $1",
            )
            .bind(name)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(Authorization::from))
    }

    // ----- groups ------------------------------------------------------

    /// Adds a group.
    pub async fn add_group(
        &self,
        name: &str,
        vlan: Option<&str>,
        session_timeout: Option<u32>,
    ) -> Result<(), StoreError> {
        validate::group_name(name)?;
        validate::attributes(vlan, session_timeout)?;
        let detail = format!(
            "vlan={} session_timeout={}",
            show(&vlan),
            show(&session_timeout)
        );
        let now = unix_now();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO groups (name, vlan, session_timeout, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(name)
            .bind(vlan)
            .bind(session_timeout.map(i64::from))
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(unique("group", name))?;
            audit!(tx, &self.actor, "group.add", name, detail);
            tx.commit().await?;
        });
        Ok(())
    }

    /// All groups, by name, with their number of members.
    pub async fn list_groups(&self) -> Result<Vec<Group>, StoreError> {
        let rows: Vec<model::GroupRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT g.name AS name, g.vlan AS vlan, g.session_timeout AS session_timeout, \
                        g.created_at AS created_at, \
                        (SELECT COUNT(*) FROM users u WHERE u.group_name = g.name) AS members \
                 FROM groups g ORDER BY g.name",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(Group::from).collect())
    }

    /// Changes a group's VLAN or Session-Timeout.
    pub async fn update_group(&self, name: &str, update: &GroupUpdate) -> Result<(), StoreError> {
        if let Change::Set(v) = &update.vlan {
            validate::vlan(v)?;
        }
        if let Change::Set(t) = update.session_timeout {
            validate::session_timeout(t)?;
        }
        let detail = update.describe();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if count!(tx, "SELECT COUNT(*) FROM groups WHERE name = $1", name) == 0 {
                return Err(StoreError::NotFound { kind: "group", name: name.to_owned() });
            }
            if let Some(v) = update.vlan.as_update() {
                sqlx::query("UPDATE groups SET vlan = $1 WHERE name = $2")
                    .bind(v).bind(name).execute(&mut *tx).await?;
            }
            if let Some(v) = update.session_timeout.as_update() {
                sqlx::query("UPDATE groups SET session_timeout = $1 WHERE name = $2")
                    .bind(v.map(i64::from)).bind(name).execute(&mut *tx).await?;
            }
            audit!(tx, &self.actor, "group.set", name, detail);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Deletes a group that has no members.
    pub async fn delete_group(&self, name: &str) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let members = count!(tx, "SELECT COUNT(*) FROM users WHERE group_name = $1", name);
            if members > 0 {
                return Err(StoreError::InUse {
                    kind: "group",
                    name: name.to_owned(),
                    detail: format!("{members} user(s) belong to it"),
                });
            }
            let done = sqlx::query("DELETE FROM groups WHERE name = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound { kind: "group", name: name.to_owned() });
            }
            audit!(tx, &self.actor, "group.delete", name, "");
            tx.commit().await?;
        });
        Ok(())
    }
}
