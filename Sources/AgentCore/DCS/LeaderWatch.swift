// The DCS client service: watches the leader key and wakes the HA loop the moment it changes.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging
import ServiceLifecycle

public final class LeaderWatch: Service, @unchecked Sendable {
    let store: ClusterStore
    let wakeup: Wakeup
    let logger: Logger
    /// Keys under the prefix whose changes wake the loop (issue-4 work adds failover, config, …).
    public let watchedKeys: [String]

    public init(store: ClusterStore, wakeup: Wakeup, logger: Logger, watchedKeys: [String] = ["leader"]) {
        self.store = store; self.wakeup = wakeup; self.logger = logger; self.watchedKeys = watchedKeys
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for key in watchedKeys {
                group.addTask { await self.watchForever(self.store.key(key)) }
            }
            group.addTask {
                try? await gracefulShutdown()
            }
            await group.next()  // the shutdown task finishes first
            group.cancelAll()
        }
        await store.etcd.shutdown()
    }

    func watchForever(_ key: String) async {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await store.etcd.watch(prefix: key, startRevision: 0) { [wakeup, logger] event in
                    logger.debug("watch: \(key) \(event.kind == .delete ? "deleted" : "set to \(event.value)")")
                    wakeup.signal()
                }
            } catch {
                if Task.isCancelled { return }
                failures += 1
                if failures == 1 || failures % 30 == 0 { logger.debug("watch on \(key): \(error); reconnecting") }
            }
            wakeup.signal()  // something may have changed while we were not watching
            try? await Task.sleep(nanoseconds: 500_000_000)
        }
    }
}
