// Reads patroni.yml-style YAML into AgentConfig: unknown keys become warnings, bad values errors at file:line:column.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import YAML

/// A configuration error naming the file, line, column and key.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public struct LoadedConfig: Sendable {
    public var config: AgentConfig
    /// "file:line:col: unknown key a.b (ignored)" lines, for the operator.
    public var warnings: [String]
}

public enum ConfigLoader {
    public static func load(path: String) throws -> LoadedConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError("\(path): cannot read the configuration file")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> LoadedConfig {
        let root: YAMLNode
        do {
            guard let node = try YAMLText.compose(text) else { throw ConfigError("\(file): empty configuration") }
            root = node
        } catch let error as YAMLError {
            throw ConfigError("\(file): invalid YAML: \(error)")
        }
        var reader = Reader(file: file)
        var config = AgentConfig()
        try reader.read(root, into: &config)
        try reader.finish(&config, root: root)
        return LoadedConfig(config: config, warnings: reader.warnings)
    }
}

/// Walks the YAML tree; each key either lands in the config or becomes a warning.
struct Reader {
    let file: String
    var warnings: [String] = []
    var restConnectSet = false
    var pgConnectSet = false

    func at(_ node: YAMLNode) -> String { "\(file):\(node.mark?.line ?? 0):\(node.mark?.column ?? 0)" }

    func fail(_ node: YAMLNode, _ key: String, _ problem: String) -> ConfigError {
        ConfigError("\(at(node)): \(key): \(problem)")
    }

    func entries(_ node: YAMLNode, _ key: String) throws -> [(String, YAMLNode, YAMLNode)] {
        guard let mapping = node.mapping else { throw fail(node, key, "expected a mapping") }
        return try mapping.map { k, v in
            guard let name = k.scalar?.string else { throw fail(k, key, "keys must be plain strings") }
            return (name, v, k)
        }
    }

    func string(_ node: YAMLNode, _ key: String) throws -> String {
        guard let s = node.scalar?.string else { throw fail(node, key, "expected a string") }
        return s
    }

    func double(_ node: YAMLNode, _ key: String) throws -> Double {
        guard let s = node.scalar?.string, let d = Double(s), d.isFinite else { throw fail(node, key, "expected a number, got \(node.scalar?.string ?? "a collection")") }
        return d
    }

    func int(_ node: YAMLNode, _ key: String) throws -> Int {
        guard let s = node.scalar?.string, let i = Int(s) else { throw fail(node, key, "expected an integer, got \(node.scalar?.string ?? "a collection")") }
        return i
    }

    func bool(_ node: YAMLNode, _ key: String) throws -> Bool {
        switch node.scalar?.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw fail(node, key, "expected true or false, got \(node.scalar?.string ?? "a collection")")
        }
    }

    /// `host:port`; `defaultHost` fills a bare `:port`. Multiple listen hosts (`a,b:5432`) keep the first.
    func hostPort(_ node: YAMLNode, _ key: String, defaultHost: String = "127.0.0.1") throws -> HostPort {
        let s = try string(node, key)
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (1...65535).contains(port) else {
            throw fail(node, key, "expected host:port, got \(s)")
        }
        var host = String(s[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        host = host.split(separator: ",").first.map(String.init) ?? ""
        return HostPort(host: host.isEmpty ? defaultHost : host, port: port)
    }

    /// Scalar parameter values as Postgres expects them in a .conf file (strings stay strings).
    func parameters(_ node: YAMLNode, _ key: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for (k, v, _) in try entries(node, key) { out[k] = try string(v, "\(key).\(k)") }
        return out
    }

    mutating func unknown(_ keyNode: YAMLNode, _ path: String) {
        warnings.append("\(at(keyNode)): unknown key \(path) (ignored)")
    }

    mutating func read(_ root: YAMLNode, into c: inout AgentConfig) throws {
        for (k, v, kn) in try entries(root, "(top level)") {
            switch k {
            case "scope": c.scope = try string(v, k)
            case "namespace": c.namespace = try string(v, k)
            case "name": c.name = try string(v, k)
            case "restapi": try readRestAPI(v, &c)
            case "ctl": try readCtl(v, &c)
            case "etcd3", "etcd": try readEtcd(v, k, &c)
            case "bootstrap": try readBootstrap(v, &c)
            case "postgresql": try readPostgres(v, &c)
            case "tags": try readTags(v, &c)
            case "watchdog": try readWatchdog(v, &c)
            case "log":
                for (lk, lv, lkn) in try entries(v, "log") {
                    switch lk {
                    case "level": c.logLevel = try string(lv, "log.level").lowercased()
                    case "format", "dir", "file_num", "file_size", "traceback_level", "loggers": break
                    default: unknown(lkn, "log.\(lk)")
                    }
                }
            default: unknown(kn, k)
            }
        }
    }

    mutating func readRestAPI(_ node: YAMLNode, _ c: inout AgentConfig) throws {
        var files: [String: String] = [:]
        var verify = VerifyClient.none
        for (k, v, kn) in try entries(node, "restapi") {
            let key = "restapi.\(k)"
            switch k {
            case "listen": c.restListen = try hostPort(v, key, defaultHost: "0.0.0.0")
            case "connect_address": c.restConnect = try hostPort(v, key); restConnectSet = true
            case "authentication": c.restAuth = try credentials(v, key)
            case "certfile", "keyfile", "cafile": files[k] = try path(v, key)
            case "verify_client":
                guard let mode = VerifyClient(rawValue: try string(v, key)) else {
                    throw fail(v, key, "expected none, optional or required, got \(v.scalar?.string ?? "a collection")")
                }
                verify = mode
            default: unknown(kn, key)
            }
        }
        guard let certfile = files["certfile"] else {
            if files["keyfile"] != nil || verify != .none { throw fail(node, "restapi.certfile", "required with keyfile or verify_client (HTTPS)") }
            return
        }
        if verify != .none && files["cafile"] == nil { throw fail(node, "restapi.cafile", "required with verify_client \(verify.rawValue)") }
        // Patroni reads the key from certfile when keyfile is absent (one PEM with both).
        c.restTLS = ServerTLS(certfile: certfile, keyfile: files["keyfile"] ?? certfile, cafile: files["cafile"], verifyClient: verify)
    }

    mutating func readCtl(_ node: YAMLNode, _ c: inout AgentConfig) throws {
        for (k, v, kn) in try entries(node, "ctl") {
            let key = "ctl.\(k)"
            switch k {
            case "cacert": c.ctl.cacert = try path(v, key)
            case "certfile": c.ctl.certfile = try path(v, key)
            case "keyfile": c.ctl.keyfile = try path(v, key)
            case "insecure": c.ctl.insecure = try bool(v, key)
            case "authentication": c.ctlAuth = try credentials(v, key)
            case "keyfile_password": throw fail(v, key, "encrypted keys are not supported: give an unencrypted key file (0600)")
            default: unknown(kn, key)
            }
        }
        if c.ctl.certfile != nil && c.ctl.keyfile == nil { c.ctl.keyfile = c.ctl.certfile }
    }

    /// An absolute file path (relative paths would depend on the agent's working directory).
    func path(_ node: YAMLNode, _ key: String) throws -> String {
        let p = try string(node, key)
        guard p.hasPrefix("/") else { throw fail(node, key, "expected an absolute path, got \(p)") }
        return p
    }

    mutating func readEtcd(_ node: YAMLNode, _ section: String, _ c: inout AgentConfig) throws {
        var scheme = "http"
        var hosts: [String] = []
        var username: String?, password: String?
        for (k, v, kn) in try entries(node, section) {
            let key = "\(section).\(k)"
            switch k {
            case "hosts":
                if let seq = v.sequence { hosts = try seq.map { try string($0, key) } }
                else { hosts = try string(v, key).split(separator: ",").map { $0.trimmingSpaces() } }
            case "host": hosts = [try string(v, key)]
            case "protocol":
                scheme = try string(v, key)
                guard scheme == "http" || scheme == "https" else { throw fail(v, key, "expected http or https, got \(scheme)") }
            case "cacert": c.etcdTLS.cacert = try path(v, key)
            case "cert": c.etcdTLS.certfile = try path(v, key)
            case "key": c.etcdTLS.keyfile = try path(v, key)
            case "username", "user": username = try string(v, key)
            case "password": password = try string(v, key)
            default: unknown(kn, key)
            }
        }
        guard !hosts.isEmpty else { throw fail(node, section, "needs hosts or host") }
        c.etcdTLS.section = section
        if hosts.contains(where: { $0.hasPrefix("https://") }) { scheme = "https" }
        if c.etcdTLS.certfile != nil && c.etcdTLS.keyfile == nil { throw fail(node, "\(section).key", "required with \(section).cert") }
        if scheme == "http" && !c.etcdTLS.isEmpty { throw fail(node, "\(section).protocol", "cacert/cert/key need protocol: https") }
        switch (username, password) {
        case let (u?, p?): c.etcdAuth = Credentials(username: u, password: p)
        case (nil, nil): break
        default: throw fail(node, "\(section).\(username == nil ? "username" : "password")", "needed together with \(section).\(username == nil ? "password" : "username")")
        }
        c.etcdEndpoints = try hosts.map { h in
            let hp = h.replacing("https://", with: "").replacing("http://", with: "")
            guard let colon = hp.lastIndex(of: ":"), Int(hp[hp.index(after: colon)...]) != nil else {
                throw fail(node, "\(section).hosts", "expected host:port, got \(h)")
            }
            return "\(scheme)://\(hp)"
        }
    }

    mutating func readBootstrap(_ node: YAMLNode, _ c: inout AgentConfig) throws {
        var sections: [String: (YAMLNode, YAMLNode)] = [:]  // perhaps the section of bootstrap.method
        var method: (String, YAMLNode)?
        for (k, v, kn) in try entries(node, "bootstrap") {
            switch k {
            case "method": method = (try string(v, "bootstrap.method"), v)
            case "dcs": try readDCS(v, &c)
            case "initdb": c.initdbOptions = try options(v, "bootstrap.initdb")
            case "post_bootstrap", "post_init":
                let command = try string(v, "bootstrap.\(k)")
                guard let program = CallbackRule.words(command)?.first, program.hasPrefix("/") else {
                    throw fail(v, "bootstrap.\(k)", "expected an absolute path to the script, got \(command)")
                }
                c.postBootstrap = command
            default: sections[k] = (v, kn)
            }
        }
        if let (name, at) = method, name != "initdb" {
            let key = "bootstrap.\(name)"
            guard let (section, _) = sections.removeValue(forKey: name) else { throw fail(at, "bootstrap.method", "\(name) has no bootstrap.\(name) section with its command") }
            var command: String?
            var m = BootstrapMethod(name: name, command: "")
            for (k, v, _) in try entries(section, key) {
                switch k {
                case "command":
                    let text = try string(v, "\(key).command")
                    guard let program = CallbackRule.words(text)?.first, program.hasPrefix("/") else {
                        throw fail(v, "\(key).command", "expected an absolute path to the program, got \(text)")
                    }
                    command = text
                case "keep_existing_recovery_conf": m.keepExistingRecoveryConf = try bool(v, "\(key).keep_existing_recovery_conf")
                case "no_params": m.noParams = try bool(v, "\(key).no_params")
                case "recovery_conf": m.recoveryConf = try parameters(v, "\(key).recovery_conf")
                default: m.parameters[k] = try string(v, "\(key).\(k)")
                }
            }
            guard let command else { throw fail(section, "\(key).command", "required for a bootstrap method") }
            m.command = command
            c.bootstrapMethod = m
        }
        for (k, (_, kn)) in sections.sorted(by: { $0.key < $1.key }) { unknown(kn, "bootstrap.\(k)") }
    }

    /// Patroni's option lists (initdb, basebackup): `- flag` or `- name: value`, as `--flag` / `--name=value`.
    func options(_ node: YAMLNode, _ key: String) throws -> [String] {
        if node.mapping != nil { return try entries(node, key).map { k, v, _ in "--\(k)=\(try string(v, "\(key).\(k)"))" } }
        guard let seq = node.sequence else { throw fail(node, key, "expected a list") }
        var out: [String] = []
        for item in seq {
            if let s = item.scalar?.string { out.append("--\(s)") }
            else { for (ik, iv, _) in try entries(item, key) { out.append("--\(ik)=\(try string(iv, "\(key).\(ik)"))") } }
        }
        return out
    }

    mutating func readDCS(_ node: YAMLNode, _ c: inout AgentConfig) throws {
        for (k, v, kn) in try entries(node, "bootstrap.dcs") {
            let key = "bootstrap.dcs.\(k)"
            switch k {
            case _ where PatroniTimingKeys.field(k) != nil:
                switch PatroniTimingKeys.field(k)! {
                case let .seconds(path): c.timing[keyPath: path] = try double(v, key)
                case let .bytes(path): c.timing[keyPath: path] = Int64(try int(v, key))
                }
            case "synchronous_mode", "synchronous_mode_strict", "failsafe_mode", "check_timeline", "pause":
                c.dcsSwitches[k] = try bool(v, key)
            case "synchronous_node_count":
                let n = try int(v, key)
                if n < 1 { throw fail(v, key, "must be at least 1") }
                c.dcsSynchronousNodeCount = n
            case "postgresql":
                for (pk, pv, pkn) in try entries(v, key) {
                    switch pk {
                    case "use_pg_rewind": c.usePgRewind = try bool(pv, "\(key).use_pg_rewind")
                    case "parameters": c.dcsParameters = try parameters(pv, "\(key).parameters")
                    case "pg_hba":
                        guard let seq = pv.sequence else { throw fail(pv, "\(key).pg_hba", "expected a list of lines") }
                        c.dcsPgHBA = try seq.map { try string($0, "\(key).pg_hba") }
                    case "use_slots": break
                    default: unknown(pkn, "\(key).\(pk)")
                    }
                }
            case "standby_cluster": c.dcsStandbyCluster = try standbyCluster(v, key)
            default: unknown(kn, key)
            }
        }
        if let problem = c.timing.invalid { throw fail(node, "bootstrap.dcs", problem) }
        // Patroni adjusts timing that breaks the safety rule rather than refusing it, and says so.
        let (safe, note) = c.timing.adjusted
        if let note { warnings.append("\(at(node)): bootstrap.dcs: \(note)"); c.timing = safe }
    }

    /// bootstrap.dcs.standby_cluster: Patroni's keys, each checked where it is written.
    mutating func standbyCluster(_ node: YAMLNode, _ key: String) throws -> StandbyCluster {
        var s = StandbyCluster()
        for (k, v, kn) in try entries(node, key) {
            switch k {
            case "host": s.host = try string(v, "\(key).host")
            case "port":
                let ports = try string(v, "\(key).port")
                if let problem = StandbyCluster.problem(["host": "", "port": ports]) { throw fail(v, "\(key).port", String(problem.dropFirst("standby_cluster.port: ".count))) }
                s.port = ports
            case "primary_slot_name": s.primarySlotName = try string(v, "\(key).primary_slot_name")
            case "restore_command": s.restoreCommand = try string(v, "\(key).restore_command")
            case "archive_cleanup_command": s.archiveCleanupCommand = try string(v, "\(key).archive_cleanup_command")
            case "recovery_min_apply_delay": s.recoveryMinApplyDelay = try string(v, "\(key).recovery_min_apply_delay")
            case "create_replica_methods":
                guard let seq = v.sequence else { throw fail(v, "\(key).create_replica_methods", "expected a list of method names") }
                s.createReplicaMethods = try seq.map { try string($0, "\(key).create_replica_methods") }
            default: unknown(kn, "\(key).\(k)")
            }
        }
        if s.host == nil && s.restoreCommand == nil { throw fail(node, key, "needs host or restore_command") }
        return s
    }

    func credentials(_ node: YAMLNode, _ key: String) throws -> Credentials {
        var cred = Credentials(username: "")
        for (k, v, _) in try entries(node, key) {
            switch k {
            case "username": cred.username = try string(v, "\(key).username")
            case "password": cred.password = try string(v, "\(key).password")
            case _ where Credentials.libpqKeys.contains(k):
                cred.libpqOptions.append(LibpqOption(key: k, value: try string(v, "\(key).\(k)")))
            default: break  // sslpassword and the like: accepted, not used
            }
        }
        guard !cred.username.isEmpty else { throw fail(node, key, "needs a username") }
        return cred
    }

    mutating func readTags(_ node: YAMLNode, _ c: inout AgentConfig) throws {
        for (k, v, _) in try entries(node, "tags") {
            let key = "tags.\(k)"
            switch k {
            case "nofailover": c.tags.nofailover = try bool(v, key)
            case "noloadbalance": c.tags.noloadbalance = try bool(v, key)
            case "clonefrom": c.tags.clonefrom = try bool(v, key)
            case "nosync": c.tags.nosync = try bool(v, key)
            case "failover_priority":
                c.tags.failoverPriority = try int(v, key)
                guard c.tags.failoverPriority >= 0 else { throw fail(v, key, "must be ≥ 0") }
            default: c.tags.other[k] = try string(v, key)
            }
        }
    }

    /// Patroni's spellings: require(d), auto(matic), off / false / disable(d).
    mutating func readWatchdog(_ node: YAMLNode, _ c: inout AgentConfig) throws {
        for (k, v, kn) in try entries(node, "watchdog") {
            let key = "watchdog.\(k)"
            switch k {
            case "mode":
                switch try string(v, key).lowercased() {
                case "required", "require": c.watchdog.mode = .required
                case "automatic", "auto": c.watchdog.mode = .automatic
                case "off", "false", "no", "disable", "disabled": c.watchdog.mode = .off
                case let other: throw fail(v, key, "expected off, automatic or required, got \(other)")
                }
            case "device":
                c.watchdog.device = try string(v, key)
                guard c.watchdog.device.hasPrefix("/") else { throw fail(v, key, "expected an absolute path, got \(c.watchdog.device)") }
            case "safety_margin":
                c.watchdog.safetyMargin = try double(v, key)
                guard c.watchdog.safetyMargin >= 0 || c.watchdog.safetyMargin == -1 else {
                    throw fail(v, key, "must be ≥ 0 (or -1 for ttl/2), got \(c.watchdog.safetyMargin)")
                }
            case "driver": break  // Patroni's only driver is "default"
            default: unknown(kn, key)
            }
        }
    }

    /// Required keys and derived defaults, checked once everything is read.
    func finish(_ c: inout AgentConfig, root: YAMLNode) throws {
        for (value, key) in [(c.scope, "scope"), (c.name, "name"), (c.postgres.dataDir, "postgresql.data_dir")] where value.isEmpty {
            throw ConfigError("\(at(root)): \(key): required key missing")
        }
        if c.postgres.pgpass.isEmpty {
            c.postgres.pgpass = parentPath(c.postgres.dataDir) + "/.pgpass-pgha-\(c.name)"
        }
        // Without connect_address, peers reach us where we listen (0.0.0.0 means loopback).
        if !pgConnectSet { c.postgres.connectAddress = c.postgres.listen }
        if !restConnectSet { c.restConnect = c.restListen }
        if c.postgres.connectAddress.host == "0.0.0.0" { c.postgres.connectAddress.host = "127.0.0.1" }
        if c.restConnect.host == "0.0.0.0" { c.restConnect.host = c.postgres.connectAddress.host }
    }
}
