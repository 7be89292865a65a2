//! EAP-MSCHAPv2 (type 26), server and peer halves.
