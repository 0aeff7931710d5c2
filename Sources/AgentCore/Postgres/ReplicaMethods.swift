// Making a replica's data directory: postgresql.create_replica_methods in order (pg_basebackup or a
// command such as a backup tool's restore), each into a side directory swapped in on success.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

extension PostgresControl {
    /// A fresh copy of the leader's data directory, by the first of postgresql.create_replica_methods
    /// that works (default: pg_basebackup alone). Each method but a keep_data one makes the copy in
    /// a sibling directory, swapped in only once it succeeded: a clone that fails (the source died,
    /// the network broke) leaves the old data directory as it was, so a member that could still
    /// rewind or be promoted is not left with nothing. Returns the method that made it.
    @discardableResult
    /// `methods`: instead of postgresql.create_replica_methods (a standby cluster's own list).
    public func clone(from upstream: UpstreamServer, methods chosen: [ReplicaMethod]? = nil) async throws -> String {
        try files.makeParentDirectory()
        let methods = chosen ?? (pg.createReplicaMethods.isEmpty ? [ReplicaMethod(name: "basebackup")] : pg.createReplicaMethods)
        var failures: [String] = []
        for m in methods {
            do {
                try await makeReplica(m, from: upstream)
                return m.name
            } catch {
                if methods.count == 1 { throw error }
                failures.append("\(m.name): \(error)")
            }
        }
        throw PostgresError("no replica method worked: " + failures.joined(separator: "; "))
    }

    func makeReplica(_ m: ReplicaMethod, from upstream: UpstreamServer) async throws {
        let fresh = files.dataDir + ".pgha-clone", old = files.dataDir + ".pgha-old"
        try? FileManager.default.removeItem(atPath: fresh)
        try? FileManager.default.removeItem(atPath: old)
        let target = m.keepData ? files.dataDir : fresh
        let what: String
        if let command = m.command {
            what = "replica method \(m.name) (\(command))"
            guard let words = CallbackRule.words(command), let program = words.first else { throw PostgresError("\(what): cannot split the command") }
            if !m.keepData { try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700]) }
            let connstring = "\(upstream.conninfo) user=\(pg.replication.username) dbname=postgres" + pg.replication.conninfoSuffix
            let args = Array(words.dropFirst()) + m.arguments(scope: files.config.scope, dataDir: target, connstring: connstring)
            let r = await Command.run(program, args, environment: env, timeout: 3600)
            if !r.ok, !m.keepData { try? FileManager.default.removeItem(atPath: fresh) }
            try check(what, r)
            guard FileManager.default.fileExists(atPath: target + "/PG_VERSION") else {
                if !m.keepData { try? FileManager.default.removeItem(atPath: fresh) }
                throw PostgresError("\(what) succeeded but left no data directory in \(target)")
            }
        } else {
            what = "pg_basebackup from \(upstream.name)"
            // The upstream as a connection string, never -h/-p: a standby cluster's host list then
            // carries target_session_attrs=read-write, so the copy is the remote primary's (with -h
            // alone libpq took the first host that answered, a replica, and its settings with it).
            // sslmode, sslrootcert, … (authentication.replication's libpq keys) follow.
            let args = ["-D", fresh, "-d", upstream.conninfo + pg.replication.conninfoSuffix, "-U", pg.replication.username,
                        "-X", "stream", "-c", "fast", "--no-password"]
                + pg.basebackupOptions  // later options win (checkpoint)
            let r = await Command.run(bin("pg_basebackup"), args, environment: env, timeout: 3600)
            if !r.ok { try? FileManager.default.removeItem(atPath: fresh) }
            try check(what, r)
        }
        _ = chmod(target, 0o700)
        if !m.keepData {
            if FileManager.default.fileExists(atPath: files.dataDir) {
                guard rename(files.dataDir, old) == 0 else { throw PostgresError("cannot move \(files.dataDir) aside: \(String(cString: strerror(errno)))") }
            }
            guard rename(fresh, files.dataDir) == 0 else { throw PostgresError("cannot move the clone into \(files.dataDir): \(String(cString: strerror(errno)))") }
            try? FileManager.default.removeItem(atPath: old)
        }
        // The copy carries the source's identity file too: this directory gets its own.
        try files.writeDataIdentity(madeBy: what)
    }
}
