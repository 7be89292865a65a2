//! `authd user` and `authd group`.

use super::*;

pub(super) async fn user_command(
    store: &Store,
    db: &DbArgs,
    cmd: UserCommand,
    out: &mut String,
) -> Result<(), AdminError> {
    let json_output = db.json;
    match cmd {
        UserCommand::Add {
            name,
            group,
            attrs,
            disabled,
            password,
            no_mschap,
        } => {
            // The key and the password first: a failure leaves nothing half done.
            let keyed = if password && !no_mschap {
                Some(with_credential_key(store, db)?)
            } else {
                None
            };
            let pw = if password {
                Some(read_secret("Password", true)?)
            } else {
                None
            };
            let a = UserAttributes {
                group,
                vlan: attrs.vlan,
                session_timeout: attrs.session_timeout,
            };
            let store = keyed.as_ref().unwrap_or(store);
            store.add_user(&name, &a, !disabled).await?;
            let Some(pw) = pw else {
                return done(out, json_output, format!("user {name:?} added"));
            };
            let nt_hash = store.set_password(&name, &pw, !no_mschap).await?;
            done(
                out,
                json_output,
                format!("user {name:?} added, password set ({})", stored(nt_hash)),
            )
        }
        UserCommand::List => {
            let users = store.list_users().await?;
            if json_output {
                return json(out, &users);
            }
            let rows = users
                .iter()
                .map(|u| {
                    vec![
                        u.name.clone(),
                        if u.enabled { "yes" } else { "no" }.to_owned(),
                        opt(&u.group),
                        opt(&u.vlan),
                        opt(&u.session_timeout),
                        if u.has_password { "yes" } else { "no" }.to_owned(),
                        if u.has_nt_hash { "yes" } else { "no" }.to_owned(),
                    ]
                })
                .collect();
            table(
                out,
                &[
                    "NAME",
                    "ENABLED",
                    "GROUP",
                    "VLAN",
                    "SESSION-TIMEOUT",
                    "PASSWORD",
                    "NT-HASH",
                ],
                rows,
            );
            Ok(())
        }
        UserCommand::Show { name } => {
            let user = store.user(&name).await?;
            let effective = store.authorization(&name).await?;
            let certs = store.list_certificates(Some(&name)).await?;
            if json_output {
                return json(
                    out,
                    &serde_json::json!({
                        "user": user,
                        "effective_vlan": effective.as_ref().and_then(|a| a.vlan.clone()),
                        "effective_session_timeout": effective.as_ref().and_then(|a| a.session_timeout),
                        "certificates": certs,
                    }),
                );
            }
            let _ = writeln!(out, "name:             {}", user.name);
            let _ = writeln!(
                out,
                "enabled:          {}",
                if user.enabled { "yes" } else { "no" }
            );
            let _ = writeln!(out, "group:            {}", opt(&user.group));
            let _ = writeln!(
                out,
                "VLAN:             {} (effective {})",
                opt(&user.vlan),
                opt(&effective.as_ref().and_then(|a| a.vlan.clone()))
            );
            let _ = writeln!(
                out,
                "Session-Timeout:  {} (effective {})",
                opt(&user.session_timeout),
                opt(&effective.as_ref().and_then(|a| a.session_timeout))
            );
            let _ = writeln!(
                out,
                "password:         {}",
                match (user.has_password, user.has_nt_hash) {
                    (false, _) => "not set",
                    (true, false) => "set (Argon2id only: PAP and TTLS-PAP)",
                    (true, true) => "set (Argon2id and NT hash: also MS-CHAPv2)",
                }
            );
            let _ = writeln!(out, "created:          {}", format_time(user.created_at));
            let _ = writeln!(out, "certificates:");
            cert_table(out, &certs);
            Ok(())
        }
        UserCommand::Set {
            name,
            group,
            no_group,
            attrs,
        } => {
            let update = UserUpdate {
                group: change(group, no_group),
                vlan: change(attrs.vlan, attrs.no_vlan),
                session_timeout: change(attrs.session_timeout, attrs.no_session_timeout),
            };
            if update == UserUpdate::default() {
                return Err(AdminError::Usage(
                    "nothing to change: give --group, --vlan, --session-timeout or a --no-... option".into(),
                ));
            }
            store.update_user(&name, &update).await?;
            done(
                out,
                json_output,
                format!("user {name:?} updated: {}", update.describe()),
            )
        }
        UserCommand::Disable { name } => {
            let since = crate::store::unix_seconds(SystemTime::now());
            store.set_user_enabled(&name, false).await?;
            done(out, json_output, format!("user {name:?} disabled"))?;
            if json_output {
                Ok(())
            } else {
                disconnect::print_queued(store, since, out).await
            }
        }
        UserCommand::Enable { name } => {
            store.set_user_enabled(&name, true).await?;
            done(out, json_output, format!("user {name:?} enabled"))
        }
        UserCommand::Delete { name } => {
            let since = crate::store::unix_seconds(SystemTime::now());
            let revoked = store.delete_user(&name).await?;
            done(
                out,
                json_output,
                format!("user {name:?} deleted; {revoked} certificate(s) revoked"),
            )?;
            if json_output {
                Ok(())
            } else {
                disconnect::print_queued(store, since, out).await
            }
        }
        UserCommand::Passwd { name, no_mschap } => {
            // Fail on an unknown user or an unusable key before prompting.
            store.user(&name).await?;
            let keyed = if no_mschap {
                store.clone()
            } else {
                with_credential_key(store, db)?
            };
            let pw = read_secret("New password", true)?;
            let nt_hash = keyed.set_password(&name, &pw, !no_mschap).await?;
            done(
                out,
                json_output,
                format!("password of user {name:?} changed ({})", stored(nt_hash)),
            )
        }
        UserCommand::Import { file, no_mschap } => {
            let keyed = if no_mschap {
                store.clone()
            } else {
                with_credential_key(store, db)?
            };
            import::import(&keyed, &file, !no_mschap, json_output, out).await
        }
    }
}

pub(super) async fn group_command(
    store: &Store,
    cmd: GroupCommand,
    json_output: bool,
    out: &mut String,
) -> Result<(), AdminError> {
    match cmd {
        GroupCommand::Add { name, attrs } => {
            store
                .add_group(&name, attrs.vlan.as_deref(), attrs.session_timeout)
                .await?;
            done(out, json_output, format!("group {name:?} added"))
        }
        GroupCommand::List => {
            let groups = store.list_groups().await?;
            if json_output {
                return json(out, &groups);
            }
            let rows = groups
                .iter()
                .map(|g| {
                    vec![
                        g.name.clone(),
                        opt(&g.vlan),
                        opt(&g.session_timeout),
                        g.members.to_string(),
                    ]
                })
                .collect();
            table(out, &["NAME", "VLAN", "SESSION-TIMEOUT", "USERS"], rows);
            Ok(())
        }
        GroupCommand::Set { name, attrs } => {
            let update = GroupUpdate {
                vlan: change(attrs.vlan, attrs.no_vlan),
                session_timeout: change(attrs.session_timeout, attrs.no_session_timeout),
            };
            if update == GroupUpdate::default() {
                return Err(AdminError::Usage(
                    "nothing to change: give --vlan, --session-timeout or a --no-... option".into(),
                ));
            }
            store.update_group(&name, &update).await?;
            done(
                out,
                json_output,
                format!("group {name:?} updated: {}", update.describe()),
            )
        }
        GroupCommand::Delete { name } => {
            store.delete_group(&name).await?;
            done(out, json_output, format!("group {name:?} deleted"))
        }
    }
}
