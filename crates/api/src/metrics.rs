//! The API's Prometheus metrics (recorded through the `metrics` facade; the recorder
//! and `/metrics` come from `mcstat_service::ops`).
//!
//! | name | type | labels | what |
//! |---|---|---|---|
//! | `mcstat_api_requests_total` | counter | `route` (the route template, `unmatched`), `outcome` (`ok` or the problem `code`) | requests answered |
//! | `mcstat_api_request_seconds` | histogram | `route` | time to answer a request |
//! | `mcstat_api_lookup_seconds` | histogram | `kind` (`status`, `players`), `protocol` (`java`, `legacy`, `query`, `bedrock`, `offline`) | time of the lookups that asked the server (cache hits excluded) |
//! | `mcstat_api_cache_total` | counter | `kind`, `result` (`hit`, `miss`) | lookups served from the cache or not |
//! | `mcstat_api_rate_limited_total` | counter | `scope` (`client`: this API's per-IP limit; `user`, `target`: the lookup service's) | requests refused by a rate limit |

/// Requests answered, by route and outcome.
pub const REQUESTS: &str = "mcstat_api_requests_total";
/// Request duration, by route.
pub const REQUEST_SECONDS: &str = "mcstat_api_request_seconds";
/// Duration of lookups that asked the server, by kind and protocol.
pub const LOOKUP_SECONDS: &str = "mcstat_api_lookup_seconds";
/// Cache hits and misses, by kind.
pub const CACHE: &str = "mcstat_api_cache_total";
/// Rate-limit refusals, by scope.
pub const RATE_LIMITED: &str = "mcstat_api_rate_limited_total";
