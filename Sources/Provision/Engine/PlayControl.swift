import Foundation

/// The parts of a play around its tasks: handlers (also forced), `meta` actions, inventory
/// changes from add_host / group_by, and warnings about keywords that are not applied.
extension PlaybookRunner {
    /// force_handlers: hosts that failed after being notified still run those handlers (and
    /// stay failed afterwards), as Ansible's `force_handlers: true` does.
    func runForcedHandlers(_ context: inout PlayContext) {
        var notified = context.batch.filter { !$0.unreachable && !$0.ended && !$0.notified.isEmpty }
        guard !notified.isEmpty else { return }
        let failed = notified.filter(\.failed)
        for h in failed { h.failed = false }
        runHandlers(&context, &notified)
        for h in failed { h.failed = true }
    }

    /// A play's (or task's) `remote_user` / `connection` do not change a host's connection (one per host for
    /// the whole run, from its inventory variables): say so where they would differ.
    func warnUnapplied(_ play: Play, _ hosts: [HostState]) {
        for h in hosts {
            let connection = Values.string(h.inventoryVars["ansible_connection"] ?? "ssh")
            if let c = play.connection, c != connection {
                output.emit(.warning("play '\(play.name)': 'connection: \(c)' is not applied to \(h.name), which connects by \(connection) (set ansible_connection in the inventory)"))
            }
            guard h.inventoryVars["ansible_user"] == nil, connection != "local" else { continue }
            if let u = play.remoteUser, u != h.remoteUser {
                output.emit(.warning("play '\(play.name)': 'remote_user: \(u)' is not applied to \(h.name), which connects as \(h.remoteUser) (set ansible_user in the inventory)"))
            }
            // A task's remote_user, once per distinct user.
            let users = Set((play.tasks + play.handlers).flatMap(\.flattened).compactMap(\.remoteUser))
            for u in users.sorted() where u != h.remoteUser && u != play.remoteUser {
                output.emit(.warning("play '\(play.name)': a task's 'remote_user: \(u)' is not applied to \(h.name), which connects as \(h.remoteUser) (set ansible_user in the inventory)"))
            }
        }
    }

    /// `meta`: flush_handlers runs notified handlers now (its `when` ignored, as in Ansible);
    /// end_host ends the play for each host whose `when` holds, end_batch / end_play for every
    /// host of the batch (and end_play for later batches) when it holds for any. Ended hosts
    /// are not failed, and their pending handlers do not run.
    func runMeta(_ task: TaskSpec, _ context: inout PlayContext, _ active: inout [HostState]) {
        let action = Values.string(task.args["action"] ?? task.args["_raw_params"])
        guard ["end_host", "end_batch", "end_play"].contains(action) else {
            switch action {
            case "flush_handlers": runHandlers(&context, &active)
            case "clear_host_errors":
                // Failed hosts of the batch take part again from the next task (the recap keeps
                // their failures, as Ansible's does).
                for h in context.batch where h.failed && !h.unreachable && !active.contains(where: { $0 === h }) {
                    h.failed = false
                    active.append(h)
                }
                active = context.batch.filter { h in active.contains { $0 === h } }
            case "reset_connection": for h in active { h.close() }
            default: break
            }
            return
        }
        var holds: [HostState] = []
        for h in active {
            guard let scope = context.scopes[h.name] else { continue }
            scope.taskVars = task.vars
            scope.roleVars = task.role.map { $0.vars } ?? [:]
            scope.roleDefaults = task.role.map { $0.defaults } ?? [:]
            scope.locals = [:]
            do {
                if try scope.templater.condition(task.when, location: "\(task.location)") { holds.append(h) }
            } catch {
                output.emit(.warning("meta: \(action) on \(h.name): \(error)"))
            }
        }
        guard !holds.isEmpty else { return }
        let ending = action == "end_host" ? holds : active
        output.emit(.taskStart(name: "meta: \(action)", handler: false))
        for h in ending { h.ended = true }
        if action == "end_play" { playEnded = true }
        active = active.filter(\.active)
    }

    /// add_host / group_by results change the run's inventory (on this thread, between tasks);
    /// every host's inventory and magic variables are then read again.
    func applyInventoryChanges(_ targets: [HostState], _ outcomes: inout [String: TaskOutcome]) {
        var any = false
        statesLock.lock()
        for h in targets {
            guard var o = outcomes[h.name], o.status == .ok || o.status == .changed else { continue }
            let results = (o.registered["results"] as? [[String: Any]]) ?? [o.registered]
            var changed = false
            for r in results where r["skipped"] as? Bool != true { changed = inventory.apply(moduleResult: r, host: h.name) || changed }
            any = any || changed
            o.status = changed ? .changed : .ok
            o.registered["changed"] = changed
            outcomes[h.name] = o
        }
        if any { for h in hosts.values { h.refresh(from: inventory) } }
        statesLock.unlock()
    }

    /// Runs handlers notified in this batch, in the order the play defines them.
    func runHandlers(_ context: inout PlayContext, _ active: inout [HostState]) {
        for handler in context.play.handlers {
            let names = Set([handler.name ?? ""] + handler.listen)
            let notifiedHosts = active.filter { !$0.notified.isDisjoint(with: names) }
            guard !notifiedHosts.isEmpty else { continue }
            var subset = notifiedHosts
            _ = runTask(handler, &context, &subset, handler: true)
            for h in notifiedHosts { h.notified.subtract(names) }
            active = active.filter(\.active)
        }
    }
}
