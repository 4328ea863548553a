// Package auth is who may use beamctl serve's HTTP API: roles, the
// identity of a request (in its context), users of the Prometheus
// exporter-toolkit web configuration (bcrypt hashes), API tokens stored
// hashed in SQLite, browser sessions and the login rate limiter. The HTTP
// side (which route needs which role) is internal/web's route table.
package auth
