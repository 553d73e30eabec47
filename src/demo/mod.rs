//! `wsprobe demo`: local endpoints reproducing the classic failures, watched by
//! a real daemon whose alerts go to the terminal.

pub mod endpoints;
