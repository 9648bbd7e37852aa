//! Neighbourhood-centre screens: centre managers, display screens with their
//! revocable read-only tokens, announcements, and the day's board.

pub mod access;
pub mod announcements;
pub mod board;
pub mod clock;
pub mod page;
pub mod routes;

pub use access::display_scope;
