//! Alert delivery: rendering notifications from templates and delivering them
//! through channels (email, webhook, file) behind one small trait.

pub mod settings;
