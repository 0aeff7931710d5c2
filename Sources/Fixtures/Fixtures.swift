// Real daemons started on 127.0.0.1 for tests and benchmarks: sshd, etcd, Postgres, pgha.
import Foundation
