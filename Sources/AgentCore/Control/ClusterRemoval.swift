// `pgha remove` (patronictl remove): wipe a cluster's keys from etcd, after the questions patronictl
// asks, refused while a member holds the leader key unless forced.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

extension ClusterActions {
    /// patronictl's confirmation phrase.
    public static let removalPhrase = "Yes I am aware"

    /// Removes every key under /<namespace>/<scope>/. `ask` puts a question and returns the typed
    /// answer (nil: no answer); nil `ask` means the questions were waived (`--yes`).
    public func remove(cluster name: String, force: Bool, ask: ((String) -> String?)?) async throws {
        guard name == scope else {
            throw ControlError("cluster name mismatch: the configuration's scope is \(scope), not \(name); nothing removed")
        }
        let v = try await client.view()
        if v.initialize == nil && v.leader == nil && v.members.isEmpty && v.config == nil && v.history.isEmpty {
            throw ControlError("cluster \(scope) has no keys in etcd under \(client.store.prefix): nothing to remove")
        }
        if let leader = v.leader, !force {
            throw ControlError("cluster \(scope) has a leader (\(leader) holds the leader key): stop its agents first, or pass --force to remove it anyway; nothing removed")
        }
        say(table(v))
        if let ask {
            guard ask("Please confirm the cluster name to remove") == name else { throw ControlError("aborted: the cluster name was not confirmed; nothing removed") }
            guard ask("You are about to remove all information in DCS for \(name), please type: \"\(Self.removalPhrase)\"") == Self.removalPhrase else {
                throw ControlError("aborted: \"\(Self.removalPhrase)\" was not typed; nothing removed")
            }
        }
        let removed: Int64?
        do { removed = try await client.store.removeCluster(force: force) } catch {
            throw ControlError.unreachable("etcd unreachable at \(client.config.etcdEndpoints.joined(separator: ",")): \(error)")
        }
        guard let removed else {
            throw ControlError("cluster \(scope) got a leader meanwhile: nothing removed (stop its agents first, or pass --force)")
        }
        say("Removed cluster \(scope): \(removed) keys under \(client.store.prefix)\(v.leader.map { " (forced: \($0) held the leader key; a running agent will take its Postgres over again)" } ?? "")")
    }
}
