//! PEAPv0 (type 25), server and peer halves.
