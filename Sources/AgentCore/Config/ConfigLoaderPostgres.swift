// The `postgresql:` section of patroni.yml, with the replica methods' own sections.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import YAML

extension Reader {
    mutating func readPostgres(_ node: YAMLNode, _ c: inout AgentConfig) throws {
        var sections: [String: (YAMLNode, YAMLNode)] = [:]  // keys pgha does not know: perhaps a replica method's section
        var methods: [(String, YAMLNode)] = []
        for (k, v, kn) in try entries(node, "postgresql") {
            let key = "postgresql.\(k)"
            switch k {
            case "create_replica_methods":
                guard let seq = v.sequence else { throw fail(v, key, "expected a list of method names") }
                methods = try seq.map { (try string($0, key), $0) }
            case "listen": c.postgres.listen = try hostPort(v, key, defaultHost: "0.0.0.0")
            case "connect_address": c.postgres.connectAddress = try hostPort(v, key); pgConnectSet = true
            case "data_dir": c.postgres.dataDir = try string(v, key)
            case "bin_dir": c.postgres.binDir = try string(v, key)
            case "pgpass": c.postgres.pgpass = try string(v, key)
            case "parameters": c.postgres.parameters = try parameters(v, key)
            case "use_unix_socket": c.postgres.useUnixSocket = try bool(v, key)
            case "use_unix_socket_repl": c.postgres.useUnixSocketRepl = try bool(v, key)
            case "basebackup":
                let opts = try options(v, key)
                // These pgha sets itself: the clone's place, its source and how WAL comes along.
                if let clash = opts.first(where: { o in ["--pgdata", "-D", "--host", "--port", "--username", "--wal-method", "--format"].contains { o.hasPrefix($0) } }) {
                    throw fail(v, key, "\(clash) is set by pgha itself")
                }
                c.postgres.basebackupOptions = opts
            case "callbacks":
                for (ck, cv, ckn) in try entries(v, key) {
                    guard CallbackAction(rawValue: ck) != nil else { unknown(ckn, "\(key).\(ck)"); continue }
                    let command = try string(cv, "\(key).\(ck)")
                    guard let words = CallbackRule.words(command), let program = words.first else {
                        throw fail(cv, "\(key).\(ck)", "expected a command line, got \(command)")
                    }
                    guard program.hasPrefix("/") else { throw fail(cv, "\(key).\(ck)", "expected an absolute path to the script, got \(program)") }
                    c.postgres.callbacks[ck] = command
                }
            case "pg_hba":
                guard let seq = v.sequence else { throw fail(v, key, "expected a list of lines") }
                c.postgres.pgHBA = try seq.map { try string($0, key) }
            case "pg_ident":
                guard let seq = v.sequence else { throw fail(v, key, "expected a list of lines") }
                c.postgres.pgIdent = try seq.map { try string($0, key) }
            case "authentication":
                for (ak, av, akn) in try entries(v, key) {
                    switch ak {
                    case "superuser": c.postgres.superuser = try credentials(av, "\(key).superuser")
                    case "replication": c.postgres.replication = try credentials(av, "\(key).replication")
                    case "rewind": c.postgres.rewind = try credentials(av, "\(key).rewind")
                    default: unknown(akn, "\(key).\(ak)")
                    }
                }
            default: sections[k] = (v, kn)
            }
        }
        for (name, at) in methods {
            let key = "postgresql.\(name)"
            if name == "basebackup" { c.postgres.createReplicaMethods.append(ReplicaMethod(name: name)); continue }
            guard let (section, _) = sections.removeValue(forKey: name) else {
                throw fail(at, "postgresql.create_replica_methods", "\(name) has no postgresql.\(name) section with its command")
            }
            var m = ReplicaMethod(name: name)
            for (k, v, _) in try entries(section, key) {
                switch k {
                case "command":
                    let command = try string(v, "\(key).command")
                    guard let program = CallbackRule.words(command)?.first, program.hasPrefix("/") else {
                        throw fail(v, "\(key).command", "expected an absolute path to the program, got \(command)")
                    }
                    m.command = command
                case "keep_data": m.keepData = try bool(v, "\(key).keep_data")
                case "no_params": m.noParams = try bool(v, "\(key).no_params")
                case "no_leader": throw fail(v, "\(key).no_leader", "not supported: pgha makes replicas only while a leader runs")
                default: m.parameters[k] = try string(v, "\(key).\(k)")
                }
            }
            guard m.command != nil else { throw fail(section, "\(key).command", "required for a replica method") }
            c.postgres.createReplicaMethods.append(m)
        }
        for (k, (_, kn)) in sections.sorted(by: { $0.key < $1.key }) { unknown(kn, "postgresql.\(k)") }
    }
}
