import Foundation

/// Runs playbooks against an inventory — the programmatic API behind `provision run`.
///
/// ```swift
/// let inventory = try Inventory.load(path: "inventories/lab")
/// let runner = PlaybookRunner(inventory: inventory,
///                             options: RunOptions(check: false, limit: "db", extraVars: ["x": "1"]))
/// let summary = runner.run(playbookPath: "playbooks/switchover.yml")
/// if summary.exitCode != 0 { … summary.failedHosts, summary.recap["db1"]?.failed … }
/// ```
///
/// Strategy is Ansible's `linear`: each task runs on every active host of the batch in
/// parallel (at most `forks` at once), then the next task starts. Every host keeps one
/// transport (one SSH session) for the whole run, shared by all plays; call `close()` (or let
/// the runner go) to end them. A failed host leaves the play (and later plays), the others go on,
/// unless `any_errors_fatal` or `max_fail_percentage` stop the batch. Unreachable is its own
/// state. Handlers run once at the end of each batch or at `meta: flush_handlers`, only on hosts
/// that notified them with a change. Output goes to `output` (human text on stdout by default;
/// `JSONOutput` for one JSON event per line). Parse errors make `run` return exit code 1 before
/// anything is touched.
public final class PlaybookRunner {
    public let inventory: Inventory
    public let options: RunOptions
    public let output: OutputSink
    /// Builds a host's transport from its inventory variables (default: `Connector`).
    public var transportFactory: (String, [String: Any]) throws -> Transport = Connector.transport(forHost:variables:)

    var hosts: [String: HostState] = [:]
    private var summary = RunSummary()

    public init(inventory: Inventory, options: RunOptions = RunOptions(), output: OutputSink? = nil) {
        self.inventory = inventory
        self.options = options
        self.output = output ?? HumanOutput(verbosity: options.verbosity)
    }

    deinit { close() }

    /// Ends every host's connection.
    public func close() { for h in hosts.values { h.close() } }

    /// Parses (and fully validates) then runs a playbook file.
    public func run(playbookPath: String) -> RunSummary {
        let playbook: Playbook
        do { playbook = try PlaybookParser.parse(path: playbookPath) } catch {
            var s = RunSummary()
            s.exitCode = 1
            s.error = "\(error)"
            return s
        }
        return run(playbook: playbook)
    }

    public func run(playbook: Playbook) -> RunSummary {
        let start = Date()
        summary = RunSummary()
        let limit: Set<String>?
        do { limit = try options.limit.map { Set(try inventory.hosts(matching: $0)) } } catch {
            summary.exitCode = 1; summary.error = "\(error)"; return summary
        }
        for play in playbook.plays {
            do { try runPlay(play, limit: limit, playbookDir: play.directory) } catch {
                summary.exitCode = 1; summary.error = "\(error)"
                output.emit(.warning("\(error)"))
                break
            }
        }
        summary.seconds = Date().timeIntervalSince(start)
        for h in summary.hosts {
            summary.recap[h] = hosts[h]?.recap ?? HostRecap()
            summary.hostFacts[h] = hosts[h]?.factsSnapshot() ?? [:]
        }
        if summary.exitCode == 0 {
            if !summary.failedHosts.isEmpty { summary.exitCode = 2 } else if !summary.unreachableHosts.isEmpty { summary.exitCode = 4 }
        }
        output.emit(.recap(hosts: summary.hosts, recap: summary.recap, seconds: summary.seconds))
        return summary
    }

    /// A play's host: its state (created on first use) and a place in the recap.
    private func state(_ name: String) -> HostState {
        let h = lockedState(name)
        if !summary.hosts.contains(name) { summary.hosts.append(name) }
        return h
    }

    // MARK: plays

    private func runPlay(_ play: Play, limit: Set<String>?, playbookDir: String) throws {
        // `hosts: "{{ target | default('db') }}"` is rendered with the -e extra vars, as in Ansible.
        let pattern = Values.string(try Templater(variables: options.extraVars).render(play.hosts, location: "\(play.location)"))
        var names = try inventory.hosts(matching: pattern)
        if let limit { names = names.filter { limit.contains($0) } }
        output.emit(.playStart(name: play.name))
        guard !names.isEmpty else {
            output.emit(.warning("no hosts matched '\(pattern)'\(options.limit.map { " with --limit \($0)" } ?? ""); skipping play"))
            return
        }
        var playVars = play.vars
        for f in play.varsFiles {
            let rendered = Values.string(try Templater(variables: options.extraVars.merging(playVars) { a, _ in a }).render(f))
            let path = rendered.hasPrefix("/") ? rendered : "\(play.directory)/\(rendered)"
            guard let node = try YAMLSource.load(path: path) else { continue }
            guard let d = YAMLSource.value(node) as? [String: Any] else {
                throw ProvisionError("vars_files entry must be a mapping", at: YAMLSource.location(node, file: path))
            }
            playVars.merge(d) { _, n in n }
        }
        playVars["playbook_dir"] = play.directory
        playVars["ansible_check_mode"] = options.check
        playVars["ansible_run_tags"] = options.tags.isEmpty ? ["all"] : options.tags
        playVars["ansible_skip_tags"] = options.skipTags
        let playHosts = names.map(state)
        warnUnapplied(play, playHosts)
        for h in playHosts { h.ended = false }
        playEnded = false
        for batch in batches(playHosts, play.serial) {
            if playEnded { break }
            var active = batch.filter(\.active)
            guard !active.isEmpty else { continue }
            for h in active { h.notified = [] }
            let scopes = Dictionary(uniqueKeysWithValues: active.map { h in
                (h.name, VariableScope(host: h, extraVars: options.extraVars, playVars: playVars, hostvars: { [unowned self] in self.hostvars() }))
            })
            var context = PlayContext(play: play, scopes: scopes, batch: batch)
            if play.gatherFacts {
                let facts = TaskSpec(name: "Gathering Facts", module: "setup", location: play.location)
                if !runTask(facts, &context, &active) { continue }
            }
            if runSteps(play.tasks, &context, &active) { runHandlers(&context, &active) }
            if play.forceHandlers { runForcedHandlers(&context) }
        }
    }

    struct PlayContext {
        let play: Play
        let scopes: [String: VariableScope]
        let batch: [HostState]
        /// Inside a block with `rescue`: a failure there is the block's to handle, not the play's
        /// (any_errors_fatal / max_fail_percentage wait until it is known not to be rescued).
        var rescueDepth = 0
    }

    /// Runs tasks (and blocks) in order on the active hosts; false when the batch must stop.
    private func runSteps(_ tasks: [TaskSpec], _ context: inout PlayContext, _ active: inout [HostState]) -> Bool {
        for task in tasks where task.block != nil || selected(task) {
            if active.isEmpty { break }
            if let block = task.block {
                if !runBlock(block, &context, &active) { return false }
                continue
            }
            if task.module == "meta" {
                runMeta(task, &context, &active)
                continue
            }
            if !runTask(task, &context, &active) { return false }
        }
        return true
    }

    /// Set by `meta: end_play`: later batches of the play do not start.
    var playEnded = false

    /// block / rescue / always. Hosts that fail in `tasks` run `rescue`; when it succeeds they
    /// are active again and their failures count as rescued. `always` runs on every host that
    /// entered (failed ones included, which stay failed unless rescued).
    private func runBlock(_ block: BlockSpec, _ context: inout PlayContext, _ active: inout [HostState]) -> Bool {
        let entered = active
        let failedBefore = Dictionary(uniqueKeysWithValues: entered.map { ($0.name, $0.recap.failed) })
        var inBlock = active
        if !block.rescue.isEmpty { context.rescueDepth += 1 }
        var going = runSteps(block.tasks, &context, &inBlock)
        if !block.rescue.isEmpty { context.rescueDepth -= 1 }
        let failedInBlock = entered.filter { $0.failed && !$0.unreachable }
        if going && !block.rescue.isEmpty && !failedInBlock.isEmpty {
            for h in failedInBlock {
                h.failed = false
                statesLock.lock()
                h.recap.failed = failedBefore[h.name] ?? 0
                h.recap.rescued += 1
                statesLock.unlock()
            }
            // A host whose rescue fails has failed the block: runTask applies the play's limits
            // there (or leaves them to an enclosing block's rescue).
            var rescuing = failedInBlock
            going = runSteps(block.rescue, &context, &rescuing)
        }
        if !block.always.isEmpty {
            // Failed hosts run `always` too, and stay failed afterwards.
            let stillFailed = entered.filter { $0.failed && !$0.unreachable }
            for h in stillFailed { h.failed = false }
            var all = entered.filter(\.active)
            let alwaysGoing = runSteps(block.always, &context, &all)
            for h in stillFailed { h.failed = true }
            going = going && alwaysGoing
        }
        active = entered.filter(\.active)
        return going
    }

    /// Splits hosts by `serial` (numbers, percentages, last one repeating).
    private func batches(_ all: [HostState], _ serial: [SerialStep]) -> [[HostState]] {
        guard !serial.isEmpty else { return [all] }
        var out: [[HostState]] = [], rest = all[...], i = 0
        while !rest.isEmpty {
            let step = serial[min(i, serial.count - 1)]
            var n: Int
            switch step {
            case let .count(c): n = c
            case let .percent(p): n = Int((Double(all.count) * p / 100).rounded(.down))
            }
            n = max(1, min(n, rest.count))
            out.append(Array(rest.prefix(n)))
            rest = rest.dropFirst(n)
            i += 1
        }
        return out
    }

    private func selected(_ task: TaskSpec) -> Bool {
        let tags = Set(task.tags)
        if tags.contains("never") && !options.tags.contains(where: tags.contains) { return false }
        if !options.skipTags.isEmpty && !tags.isDisjoint(with: options.skipTags) { return false }
        if options.tags.isEmpty || options.tags.contains("all") || tags.contains("always") { return true }
        if options.tags.contains("untagged") && tags.isEmpty { return true }
        return !tags.isDisjoint(with: options.tags)
    }

    /// `hostvars`: every inventory host's variables (inventory, magic, facts, -e), with
    /// templated values rendered in that host's own scope.
    private func hostvars() -> [String: Any] {
        var out: [String: Any] = [:]
        for name in inventory.hostNames {
            let scope = VariableScope(host: lockedState(name), extraVars: options.extraVars, playVars: [:], hostvars: { [:] })
            var vars = scope.merged()
            for (key, value) in vars where scope.containsTemplate(value) { vars[key] = scope.lookup(key) ?? value }
            out[name] = vars
        }
        return out
    }

    // MARK: tasks

    /// Runs one task on the active hosts in parallel; returns false when the batch must stop
    /// (any_errors_fatal, max_fail_percentage).
    func runTask(_ task: TaskSpec, _ context: inout PlayContext, _ active: inout [HostState], handler: Bool = false) -> Bool {
        let play = context.play
        let title: String
        if let name = task.name, let rendered = try? context.scopes[active[0].name]?.templater.render(name, location: nil) {
            title = Values.string(rendered)
        } else { title = task.displayName }
        output.emit(.taskStart(name: title, handler: handler))
        let changesInventory = task.module == AddHostModule.name || task.module == GroupByModule.name
        // add_host bypasses the host loop: it runs once, as in Ansible.
        let targets = task.runOnce || task.module == AddHostModule.name ? [active[0]] : active
        let scopes = context.scopes
        var outcomes: [String: TaskOutcome] = [:]
        let lock = NSLock()
        parallel(targets, title: title, at: task.throttle.map { min($0, options.forks) } ?? options.forks) { host in
            let scope = scopes[host.name]!
            let executor = TaskExecutor(task: task, host: host, scope: scope, options: self.options,
                                        become: (task.become ?? play.become, task.becomeUser ?? play.becomeUser ?? "root"),
                                        playbookDir: play.directory,
                                        connection: { try self.connection(for: host, task: task, scope: scope) })
            let outcome = executor.run()
            lock.lock(); outcomes[host.name] = outcome; lock.unlock()
            if !changesInventory { self.report(host, outcome) }
        }
        // run_once: every host of the batch gets the result.
        if task.runOnce || task.module == AddHostModule.name, let first = outcomes[active[0].name] {
            for h in active.dropFirst() { outcomes[h.name] = first }
        }
        if changesInventory {
            applyInventoryChanges(targets, &outcomes)
            for h in targets { if let o = outcomes[h.name] { report(h, o) } }
        }
        var failedNow = 0
        for h in active {
            guard let o = outcomes[h.name] else { continue }
            if let f = o.facts { factsHost(h, task, context).mergeFacts(f) }
            if let r = task.register { h.mergeFacts([r: o.registered]) }
            if o.status == .changed && !handler { h.notified.formUnion(task.notify) }
            if o.status == .unreachable && !o.ignored { h.unreachable = true }
            if o.status == .failed && !o.ignored {
                h.failed = true; failedNow += 1
                if context.rescueDepth > 0 {
                    h.mergeFacts(["ansible_failed_task": ["name": title, "module": task.module] as [String: Any],
                                  "ansible_failed_result": o.registered])
                }
            }
        }
        active = active.filter(\.active)
        if context.rescueDepth > 0 { return true }  // the enclosing block's rescue decides
        if failedNow > 0 && play.anyErrorsFatal {
            output.emit(.warning("any_errors_fatal: stopping the play"))
            for h in active { h.failed = true; h.recap.failed += 1 }
            active = []
            return false
        }
        if let maxPct = play.maxFailPercentage {
            let failedInBatch = context.batch.filter { $0.failed || $0.unreachable }.count
            if Double(failedInBatch) * 100 / Double(context.batch.count) > maxPct {
                output.emit(.warning("max_fail_percentage \(maxPct)% exceeded: stopping the play"))
                for h in active { h.failed = true; h.recap.failed += 1 }
                active = []
                return false
            }
        }
        return true
    }

    /// Where a task's facts go: the host, or with `delegate_facts` the host it delegated to.
    private func factsHost(_ h: HostState, _ task: TaskSpec, _ context: PlayContext) -> HostState {
        guard task.delegateFacts, let d = task.delegateTo, let scope = context.scopes[h.name],
              let target = try? Values.string(scope.templater.render(d, location: "\(task.location)")),
              inventory.hostNames.contains(target) || target == "localhost" else { return h }
        return lockedState(target)
    }

    private func connection(for host: HostState, task: TaskSpec, scope: VariableScope) throws -> (Transport, NSLock) {
        guard let d = task.delegateTo else { return (try host.connection(transportFactory), host.connectionLock) }
        let target = Values.string(try scope.templater.render(d, location: "\(task.location)"))
        if target == host.name { return (try host.connection(transportFactory), host.connectionLock) }
        guard inventory.hostNames.contains(target) || target == "localhost" else {
            throw ProvisionError("delegate_to: host '\(target)' is not in the inventory")
        }
        let delegate: HostState = lockedState(target)
        return (try delegate.connection(transportFactory), delegate.connectionLock)
    }

    let statesLock = NSLock()
    func lockedState(_ name: String) -> HostState {
        statesLock.lock(); defer { statesLock.unlock() }
        if let h = hosts[name] { return h }
        if !inventory.hostNames.contains(name) {
            // Implicit localhost, as in Ansible.
            inventory.addHost(name, vars: ["ansible_connection": "local"])
        }
        let h = HostState(name: name, inventory: inventory)
        hosts[name] = h
        return h
    }

    func report(_ host: HostState, _ o: TaskOutcome) {
        if o.items.isEmpty {
            output.emit(.hostResult(host: host.name, status: o.status, message: o.message, item: nil, ignored: o.ignored,
                                    diff: o.diff, details: o.details))
        } else {
            for i in o.items {
                output.emit(.hostResult(host: host.name, status: i.status, message: i.message, item: i.label, ignored: o.ignored,
                                        diff: i.diff, details: nil))
            }
        }
        statesLock.lock()
        switch o.status {
        case .ok: host.recap.ok += 1
        case .changed: host.recap.ok += 1; host.recap.changed += 1
        case .skipped: host.recap.skipped += 1
        case .unreachable: if o.ignored { host.recap.ignored += 1; host.recap.ok += 1 } else { host.recap.unreachable += 1 }
        case .failed: if o.ignored { host.recap.ignored += 1; host.recap.ok += 1 } else { host.recap.failed += 1 }
        }
        statesLock.unlock()
    }

    /// Runs `body` for every host on its own worker thread, at most `forks` at once, and prints
    /// a progress line when the task runs long.
    private func parallel(_ targets: [HostState], title: String, at most: Int, _ body: @escaping (HostState) -> Void) {
        let slots = DispatchSemaphore(value: max(1, most))
        let group = DispatchGroup()
        final class Pending { let lock = NSLock(); var names: Set<String> = [] }
        let pending = Pending()
        pending.names = Set(targets.map(\.name))
        var threads: [WorkerThread] = []
        defer { for t in threads { t.join() } }
        for host in targets {
            slots.wait()
            group.enter()
            threads.append(WorkerThread {
                body(host)
                pending.lock.lock(); pending.names.remove(host.name); pending.lock.unlock()
                slots.signal()
                group.leave()
            })
        }
        let start = Date()
        var next = options.progressAfter
        while group.wait(timeout: .now() + .milliseconds(200)) == .timedOut {
            let elapsed = Date().timeIntervalSince(start)
            if elapsed >= next {
                pending.lock.lock(); let names = pending.names.sorted(); pending.lock.unlock()
                output.emit(.progress(task: title, pending: names, seconds: Int(elapsed)))
                next += 10
            }
        }
    }
}
