// The agent's configuration (the common subset of patroni.yml) and every default, with the why.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// host:port as written in patroni.yml (`listen`, `connect_address`).
public struct HostPort: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) { self.host = host; self.port = port }
    public var description: String { "\(host):\(port)" }
}

public struct Credentials: Equatable, Sendable {
    public var username: String
    public var password: String?
    /// libpq TLS options from the same mapping (Patroni's keys: sslmode, sslrootcert, …), in file
    /// order; appended to every conninfo these credentials log in with.
    public var libpqOptions: [LibpqOption] = []
    public init(username: String, password: String? = nil, libpqOptions: [LibpqOption] = []) {
        self.username = username; self.password = password; self.libpqOptions = libpqOptions
    }

    /// The keys Patroni passes through from `postgresql.authentication.*` to libpq.
    public static let libpqKeys: Set<String> = ["sslmode", "sslcert", "sslkey", "sslrootcert", "sslcrl", "sslcrldir",
                                                "gssencmode", "channel_binding"]

    /// ` key=value …` for a conninfo string (empty without options); values quoted as libpq wants.
    public var conninfoSuffix: String {
        libpqOptions.map { o in
            let v = o.value.replacing("\\", with: "\\\\").replacing("'", with: "\\'")
            return " \(o.key)='\(v)'"
        }.joined()
    }
}

public struct LibpqOption: Equatable, Sendable {
    public var key: String
    public var value: String
    public init(key: String, value: String) { self.key = key; self.value = value }
}

/// The timing knobs. Safety rule (Patroni's): loopWait + 2 × retryTimeout ≤ ttl, so a leader that
/// cannot renew for loopWait + retryTimeout demotes with at least retryTimeout to spare before its
/// lease can lapse and a replica may promote.
public struct Timing: Equatable, Sendable {
    /// Lease TTL in seconds. 6 s (Patroni: 30): host loss is noticed when the lease lapses, on
    /// average ttl − loopWait/2 after the crash, so this is what bounds host-loss failover (≈ 6–7 s).
    public var ttl: Double = 6
    /// Seconds between loops. 1 s (Patroni: 10): renewals are one small etcd request; a crashed
    /// Postgres is noticed within a second (goal: writes back ≤ 3 s).
    public var loopWait: Double = 1
    /// Seconds an etcd or peer request may take before it counts as failed. 2.5 s (Patroni: 10):
    /// 1 + 2 × 2.5 = 6 = ttl. A leader tolerates 3.5 s of etcd trouble before demoting, which a
    /// loopback or LAN etcd only exceeds when it is really down.
    public var retryTimeout: Double = 2.5
    /// Replicas further behind the last leader position than this do not race (Patroni default 1 MiB).
    public var maximumLagOnFailover: Int64 = 1_048_576
    /// How long a crashed primary is restarted in place before the leader key is handed over.
    /// 10 s (Patroni: 300): crash recovery of a busy server takes a few seconds; beyond that a
    /// healthy replica serves writes sooner.
    public var primaryStartTimeout: Double = 10
    public init() {}

    /// Returns the broken rule in words, nil when the combination is safe.
    public var violation: String? {
        if ttl < 2 { return "ttl \(ttl) is below etcd's minimum lease TTL (2 s)" }
        if loopWait <= 0 || retryTimeout <= 0 { return "loop_wait and retry_timeout must be positive" }
        if loopWait + 2 * retryTimeout > ttl {
            return "loop_wait + 2 × retry_timeout (\(loopWait) + 2 × \(retryTimeout)) exceeds ttl \(ttl): a leader could lose its lease before it demotes"
        }
        return nil
    }

    /// A value no adjustment can make sense of (nil: every value is usable, perhaps adjusted).
    public var invalid: String? {
        if loopWait <= 0 || retryTimeout <= 0 || ttl <= 0 { return "ttl, loop_wait and retry_timeout must be positive" }
        return nil
    }

    /// The values used, as Patroni adjusts them instead of refusing: ttl is raised to etcd's minimum
    /// lease (2 s); when loop_wait + 2 × retry_timeout > ttl, loop_wait is shortened first, down to
    /// 1 s (or the given value if smaller), and only then retry_timeout to (ttl − loop_wait) / 2.
    /// `note` says what changed (nil: used as given).
    public var adjusted: (timing: Timing, note: String?) {
        guard invalid == nil, violation != nil else { return (self, nil) }
        var t = self
        var changes: [String] = []
        if t.ttl < 2 { t.ttl = 2; changes.append("ttl \(ttl) → 2 (etcd's minimum lease)") }
        if t.loopWait + 2 * t.retryTimeout > t.ttl {
            let floor = min(1, t.loopWait)
            let shorter = t.ttl - 2 * t.retryTimeout
            if shorter >= floor {
                t.loopWait = shorter
            } else {
                t.loopWait = floor
                t.retryTimeout = (t.ttl - floor) / 2
            }
        }
        if t.loopWait != loopWait { changes.append("loop_wait \(loopWait) → \(t.loopWait)") }
        if t.retryTimeout != retryTimeout { changes.append("retry_timeout \(retryTimeout) → \(t.retryTimeout)") }
        return (t, "loop_wait + 2 × retry_timeout ≤ ttl must hold (ttl \(ttl), loop_wait \(loopWait), retry_timeout \(retryTimeout)); using " + changes.joined(separator: ", "))
    }
}

public struct Tags: Equatable, Sendable {
    public var nofailover = false
    public var noloadbalance = false
    /// Patroni's default priority: 1; 0 means never promote.
    public var failoverPriority = 1
    public var clonefrom = false
    public var nosync = false
    /// Tags pgha does not interpret, passed through to members/<name> and /patroni.
    public var other: [String: String] = [:]
    public init() {}

    public var asJSON: [String: Any] {
        var d: [String: Any] = other
        if nofailover { d["nofailover"] = true }
        if noloadbalance { d["noloadbalance"] = true }
        if clonefrom { d["clonefrom"] = true }
        if nosync { d["nosync"] = true }
        if failoverPriority != 1 { d["failover_priority"] = failoverPriority }
        return d
    }
}

public struct PostgresConfig: Equatable, Sendable {
    public var listen = HostPort(host: "127.0.0.1", port: 5432)
    public var connectAddress = HostPort(host: "127.0.0.1", port: 5432)
    public var dataDir = ""
    /// Debian's postgresql-15 layout.
    public var binDir = "/usr/lib/postgresql/15/bin"
    /// A libpq password file the agent writes (0600) so secrets never appear in argv or logs.
    public var pgpass = ""
    public var superuser = Credentials(username: "postgres")
    public var replication = Credentials(username: "replicator")
    public var parameters: [String: String] = [:]
    /// Written verbatim to pg_hba.conf; empty means `PostgresFiles.defaultHBA`.
    public var pgHBA: [String] = []
    /// Written verbatim to pg_ident.conf (user name maps for `peer`/`cert` lines); empty: no maps.
    public var pgIdent: [String] = []
    public var useUnixSocket = true
    /// postgresql.callbacks: action (on_start, on_stop, on_restart, on_reload, on_role_change) → command line.
    public var callbacks: [String: String] = [:]
    /// postgresql.authentication.rewind: the user pg_rewind connects to the leader as (nil: the
    /// superuser). Created at bootstrap with only the functions pg_rewind needs, as Patroni does.
    public var rewind: Credentials?
    /// postgresql.basebackup: extra pg_basebackup options (`--max-rate=100M`, `--verbose`).
    public var basebackupOptions: [String] = []
    /// postgresql.create_replica_methods with their sections, tried in order when a replica is made
    /// (empty: pg_basebackup alone). `basebackup` is pg_basebackup.
    public var createReplicaMethods: [ReplicaMethod] = []
    /// postgresql.use_unix_socket_repl: accepted (pgha never opens a replication connection to its own server).
    public var useUnixSocketRepl = false
    public init() {}
}

/// A way to make a replica's data directory (Patroni's create_replica_methods): pg_basebackup, or a
/// command run as `command --scope=… --datadir=… --role=replica --connstring=…` plus the section's
/// other keys as `--key=value` (a backup tool's restore, pgBackRest's among them).
public struct ReplicaMethod: Equatable, Sendable {
    public var name: String
    /// nil: pg_basebackup.
    public var command: String?
    /// Run over the existing data directory instead of an empty one (pgBackRest's --delta).
    public var keepData = false
    /// Only the command line as written, none of Patroni's arguments.
    public var noParams = false
    /// Further keys of the section, passed as --key=value (sorted by key).
    public var parameters: [String: String] = [:]
    public init(name: String, command: String? = nil) { self.name = name; self.command = command }

    /// The arguments after the command's own words (pure).
    public func arguments(scope: String, dataDir: String, connstring: String) -> [String] {
        if noParams { return [] }
        return ["--scope=\(scope)", "--datadir=\(dataDir)", "--role=replica", "--connstring=\(connstring)"]
            + parameters.sorted { $0.key < $1.key }.map { "--\($0.key)=\($0.value)" }
    }
}

/// Patroni's custom bootstrap (`bootstrap.method: NAME` with a `bootstrap.NAME` section): a
/// command makes the new cluster's data directory (a restore from a backup) instead of initdb.
public struct BootstrapMethod: Equatable, Sendable {
    public var name: String
    public var command: String
    /// Keep the recovery.signal / standby.signal (and the settings) the command wrote.
    public var keepExistingRecoveryConf = false
    /// Without --scope and --datadir (the section's own keys are still passed, as Patroni does).
    public var noParams = false
    /// Recovery settings (restore_command, recovery_target_*, …) for the first start; recovery.signal is written.
    public var recoveryConf: [String: String] = [:]
    /// Further keys of the section, passed as --key=value (sorted by key; scope and datadir are Patroni's own).
    public var parameters: [String: String] = [:]
    public init(name: String, command: String) { self.name = name; self.command = command }

    /// The arguments after the command's own words (pure): Patroni's --scope and --datadir, then the section's keys.
    public func arguments(scope: String, dataDir: String) -> [String] {
        let fixed = noParams ? [] : ["--scope=\(scope)", "--datadir=\(dataDir)"]
        return fixed + parameters.filter { $0.key != "scope" && $0.key != "datadir" }.sorted { $0.key < $1.key }.map { "--\($0.key)=\($0.value)" }
    }
}

/// Patroni's `watchdog:` section: a device that resets the host unless the leader keeps feeding it,
/// so a leader that hangs (or cannot renew its lease) is gone before another member may promote.
public struct WatchdogConfig: Equatable, Sendable {
    public enum Mode: String, Sendable {
        /// Never open the device.
        case off
        /// Use the device when it works; without one, log it once and lead anyway.
        case automatic
        /// Never take the leader key without an armed device.
        case required
    }
    /// Patroni's default: a watchdog where one is present costs nothing where none is.
    public var mode = Mode.automatic
    public var device = "/dev/watchdog"
    /// Seconds between the device firing and the lease lapsing (Patroni's default 5; −1: ttl/2).
    /// The device fires `timeout` after the last feed, which follows a renewal, so a hung leader is
    /// reset at least this long before another member can hold the key.
    public var safetyMargin: Double = 5
    public init() {}

    /// The device timeout in whole seconds: ttl − safety_margin rounded down (firing early is the safe side).
    public func timeout(ttl: Double) -> Int {
        Int((safetyMargin == -1 ? ttl / 2 : ttl - safetyMargin).rounded(.down))
    }

    /// Why this timing makes the device unusable (nil: usable): a timeout not above loop_wait would
    /// fire between two healthy loops.
    public func timingProblem(_ t: Timing) -> String? {
        let n = timeout(ttl: t.ttl)
        if Double(n) > t.loopWait && n >= 1 { return nil }
        return "its timeout ttl − safety_margin = \(n) s is not above loop_wait \(t.loopWait) s"
    }
}

public struct AgentConfig: Sendable {
    public var scope = ""
    /// Patroni's default namespace.
    public var namespace = "/service"
    public var name = ""
    public var restListen = HostPort(host: "127.0.0.1", port: 8008)
    public var restConnect = HostPort(host: "127.0.0.1", port: 8008)
    public var restAuth: Credentials?
    /// restapi.certfile/keyfile/cafile/verify_client: HTTPS when set (nil: plain HTTP).
    public var restTLS: ServerTLS?
    /// ctl.*: how pgha (the CLI and the agent's calls to peers) reaches members' REST APIs over HTTPS.
    public var ctl = ClientTLS(section: "ctl")
    /// ctl.authentication: basic auth the CLI and peer calls send (Patroni's fallback: restapi.authentication).
    public var ctlAuth: Credentials?
    /// etcd endpoints, `http://host:port` or `https://host:port`; tried in order, moving on when one fails.
    public var etcdEndpoints = ["http://127.0.0.1:2379"]
    /// etcd3.cacert/cert/key: the CA that signed etcd's certificate and this client's certificate.
    public var etcdTLS = ClientTLS(section: "etcd3")
    /// etcd3.username/password: exchanged for an auth token (etcd RBAC); nil with a client certificate, whose CN is the user.
    public var etcdAuth: Credentials?
    public var timing = Timing()
    /// pg_rewind lets a former primary rejoin without a full clone (Patroni default: false; ours true
    /// because re-cloning is the slow path after every failover).
    public var usePgRewind = true
    /// bootstrap.dcs.postgresql.parameters: written to the `config` key at bootstrap.
    public var dcsParameters: [String: String] = [:]
    /// bootstrap.dcs switches of the operations (synchronous_mode, synchronous_mode_strict,
    /// failsafe_mode, check_timeline, pause) and synchronous_node_count: written to the `config`
    /// key at bootstrap with the rest (read back through DynamicSettings).
    public var dcsSwitches: [String: Bool] = [:]
    public var dcsSynchronousNodeCount: Int?
    /// bootstrap.initdb: extra initdb options (`--encoding=UTF8`, `--data-checksums`).
    public var initdbOptions: [String] = []
    /// bootstrap.post_bootstrap (or post_init): a command run once after the new cluster is up,
    /// with a connection URL as its argument; bootstrap fails when it fails (Patroni's rule).
    public var postBootstrap: String?
    /// bootstrap.method other than initdb (nil: initdb).
    public var bootstrapMethod: BootstrapMethod?
    /// bootstrap.dcs.postgresql.pg_hba: the cluster-wide pg_hba lines, seeded into `config`
    /// (a member's own postgresql.pg_hba wins).
    public var dcsPgHBA: [String] = []
    /// bootstrap.dcs.standby_cluster: the cluster is made as (and stays) a standby of a remote primary.
    public var dcsStandbyCluster: StandbyCluster?
    public var postgres = PostgresConfig()
    public var tags = Tags()
    public var watchdog = WatchdogConfig()
    public var logLevel = "info"
    public init() {}

    /// `/<namespace>/<scope>/`, Patroni's etcd3 prefix.
    public var keyPrefix: String {
        let ns = namespace.hasPrefix("/") ? namespace : "/" + namespace
        return (ns.hasSuffix("/") ? ns : ns + "/") + scope + "/"
    }
    public var apiURL: String { "\(restTLS == nil ? "http" : "https")://\(restConnect)/patroni" }

    /// The TLS client settings for members' REST APIs: ctl.* first, then Patroni's fallbacks to restapi.*.
    public var restClientTLS: ClientTLS {
        var c = ctl
        if c.cacert == nil { c.cacert = restTLS?.cafile }
        if c.certfile == nil && c.keyfile == nil, let server = restTLS, server.verifyClient != .none {
            c.certfile = server.certfile
            c.keyfile = server.keyfile
        }
        return c
    }
}
