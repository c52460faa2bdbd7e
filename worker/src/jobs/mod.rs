//! The jobs a worker runs, one file each; each is a plain async fn that can be tested
//! without a queue, wrapped for apalis in `crate::runtime`.

pub mod cleanup;
pub mod convert;
pub mod detail_columns;
pub mod geocode_rows;
pub mod pipeline;
pub mod region_check;
pub mod row_events;
pub mod rows;
