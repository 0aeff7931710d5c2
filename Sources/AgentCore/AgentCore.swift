// The pgha agent: Config/, DCS/ (etcd v3), Postgres/, HA/ (the pure decision), API/ (REST), Control/ (CLI ops).
import Foundation
