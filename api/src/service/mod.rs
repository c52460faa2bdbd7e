//! The service layer both HTTP surfaces share: upload, look up, process, download,
//! renew and delete sessions. Handlers only translate HTTP to these calls and back.

pub mod events;
pub mod results;
pub mod sessions;
pub mod upload;
pub mod views;
