import Foundation

/// One task's result on one host (loop items folded in), ready for output and recap.
struct TaskOutcome {
    var status: HostStatus
    var message: String?
    var ignored = false
    var diff: String?
    var items: [(label: String, status: HostStatus, message: String?, diff: String?)] = []
    /// The value `register:` stores.
    var registered: [String: Any] = [:]
    var facts: [String: Any]?
    var noLog = false
    var details: [String: Any]?
}

/// Runs one task on one host: `when`, `loop`, templating of arguments, become, the module,
/// `until`/`retries`, `changed_when`/`failed_when`, `register`, `set_fact`, no_log.
struct TaskExecutor {
    let task: TaskSpec
    let host: HostState
    let scope: VariableScope
    let options: RunOptions
    let become: (enabled: Bool, user: String)
    let playbookDir: String
    /// Gives the transport to run on (the host's own, or the delegate's) and its lock.
    let connection: () throws -> (Transport, NSLock)

    static let hidden = "the output has been hidden due to the 'no_log: true' specified for this result"

    func run() -> TaskOutcome {
        var outcome: TaskOutcome
        do {
            outcome = try runGuarded()
        } catch let e as TransportError where e.isUnreachable {
            outcome = TaskOutcome(status: .unreachable, message: "\(e)")
        } catch let e as TransportError {
            outcome = TaskOutcome(status: .failed, message: "\(e)")
        } catch let e as UndefinedVariableError where scope.nestedErrors[e.name] != nil {
            outcome = TaskOutcome(status: .failed, message: "\(scope.nestedErrors[e.name]!) (task '\(task.displayName)' at \(task.location))")
        } catch let e as UndefinedVariableError {
            var e = e
            if e.location == nil { e.location = "task '\(task.displayName)' at \(task.location)" }
            outcome = TaskOutcome(status: .failed, message: "\(e)")
        } catch {
            outcome = TaskOutcome(status: .failed, message: "\(error) (task '\(task.displayName)' at \(task.location))")
        }
        if outcome.status == .failed && task.ignoreErrors { outcome.ignored = true }
        if outcome.status == .unreachable && task.ignoreUnreachable { outcome.ignored = true }
        if task.noLog {
            outcome.noLog = true
            if outcome.message != nil { outcome.message = Self.hidden }
            outcome.diff = nil
            outcome.details = nil
            outcome.items = outcome.items.map { ($0.label.isEmpty ? "" : "(censored)", $0.status, $0.message == nil ? nil : Self.hidden, nil) }
        }
        return outcome
    }

    private var location: String { "\(task.location)" }

    private func runGuarded() throws -> TaskOutcome {
        scope.taskVars = task.vars
        scope.roleVars = task.role.map { $0.vars } ?? [:]
        scope.roleDefaults = task.role.map { $0.defaults } ?? [:]
        if let c = task.checkMode { scope.taskVars["ansible_check_mode"] = c }
        scope.locals = [:]
        scope.nestedErrors = [:]
        let t = scope.templater
        guard let loopSpec = task.loop else {
            if !(try t.condition(task.when, location: location)) {
                return TaskOutcome(status: .skipped, registered: ["skipped": true, "changed": false, "skip_reason": "Conditional result was False"])
            }
            return try single()
        }
        let loopValue: Any
        do { loopValue = try t.renderDeep(loopSpec, location: location) } catch let e as UndefinedVariableError {
            // `when: false` that does not need the item skips the task before its items matter
            // (`with_items: ["{{ not_yet_defined }}"]` guarded by a false `when`), as in Ansible.
            if let run = try? t.condition(task.when, location: location), !run {
                return TaskOutcome(status: .skipped, registered: ["skipped": true, "changed": false, "skip_reason": "Conditional result was False"])
            }
            throw e
        }
        let items = try task.loopStyle.items(loopValue, playbookDir: playbookDir, variables: t.lookup)
        var outcome = TaskOutcome(status: .skipped)
        var results: [Any] = []
        var anyRan = false, anyChanged = false, anyFailed = false
        for (index, item) in items.enumerated() {
            scope.locals = [task.loopVar: item]
            if let iv = task.indexVar { scope.locals[iv] = index }
            if task.loopExtended {
                var loop: [String: Any] = ["index": index + 1, "index0": index, "first": index == 0, "last": index == items.count - 1,
                                           "length": items.count, "revindex": items.count - index, "revindex0": items.count - index - 1,
                                           "allitems": items]
                if index > 0 { loop["previtem"] = items[index - 1] }
                if index + 1 < items.count { loop["nextitem"] = items[index + 1] }
                scope.locals["ansible_loop"] = loop
            }
            if index > 0 && task.loopPause > 0 { Thread.sleep(forTimeInterval: task.loopPause) }
            let label = try task.loopLabel.map { Values.string(try t.render($0, location: location)) }
                ?? (item is String || item is Int ? Values.string(item) : Values.json(item))
            if !(try t.condition(task.when, location: location)) {
                outcome.items.append((label, .skipped, nil, nil))
                results.append(["item": item, "skipped": true, "changed": false])
                continue
            }
            anyRan = true
            var one = try single()
            if one.status == .unreachable { return one }
            one.registered["item"] = item
            one.registered["ansible_loop_var"] = task.loopVar
            if let iv = task.indexVar { one.registered[iv] = index; one.registered["ansible_index_var"] = iv }
            results.append(one.registered)
            outcome.items.append((label, one.status, one.message, one.diff))
            if let f = one.facts {
                outcome.facts = (outcome.facts ?? [:]).merging(f) { _, n in n }
                if !task.delegateFacts { host.mergeFacts(f) }
            }
            anyChanged = anyChanged || one.status == .changed
            if one.status == .failed { anyFailed = true; outcome.message = one.message }
        }
        scope.locals = [:]
        outcome.status = !anyRan ? .skipped : anyFailed ? .failed : anyChanged ? .changed : .ok
        outcome.registered = ["results": results, "changed": anyChanged, "failed": anyFailed, "skipped": !anyRan,
                              "msg": anyFailed ? "One or more items failed" : "All items completed"]
        if anyFailed { outcome.message = outcome.message ?? "One or more items failed" }
        return outcome
    }

    /// Runs the module once (with until/retries), then applies changed_when / failed_when.
    private func single() throws -> TaskOutcome {
        guard let module = ModuleRegistry.module(named: task.module) else { throw ProvisionError("unknown module '\(task.module)'") }
        let t = scope.templater
        var attempts = 0
        var retries = task.retries, delay = task.delay
        if let r = task.retriesTemplate {
            let v = try t.render(r, location: location)
            guard let n = Int(Values.string(v)) else { throw ProvisionError("retries must be an integer, got '\(Values.string(v))'") }
            retries = n
        }
        if let d = task.delayTemplate {
            let v = try t.render(d, location: location)
            guard let n = Double(Values.string(v)) else { throw ProvisionError("delay must be a number, got '\(Values.string(v))'") }
            delay = n
        }
        // `until`, or since ansible-core 2.16 `retries` alone (retry until not failed).
        let retrying = task.until != nil || task.retriesGiven
        let maxAttempts = retrying ? max(1, retries + 1) : 1
        while true {
            attempts += 1
            var args: [String: Any] = [:]
            for (k, v) in task.args {
                args[k] = module.rawOptions.contains(k) ? v : try t.renderDeep(v, location: location)
                if let s = args[k] as? String, s == ExpressionEvaluator.omit { args[k] = nil }
            }
            try TaskParser.validate(module, args, positions: [:], moduleAt: task.location)
            if task.module == DebugModule.name, try ModuleArgs(args, module: task.module).int("verbosity", default: 0) > options.verbosity {
                return TaskOutcome(status: .skipped, registered: ["skipped": true, "changed": false,
                                                                  "skipped_reason": "Verbosity threshold not met."])
            }
            let (transport, lock) = module.needsConnection ? try connection() : (ControllerOnlyTransport(hostName: host.name), NSLock())
            let useBecome = become.enabled && become.user != host.remoteUser
            var environment: [String: String] = [:]
            for (k, v) in task.environment { environment[k] = Values.string(try t.renderDeep(v, location: location)) }
            // `async` with `poll` > 0 waits at most that long, as a `timeout` would.
            let waitAsync = task.asyncSeconds.flatMap { task.poll > 0 ? $0 : nil }
            let limit = [task.timeout, waitAsync].compactMap { $0 }.min()
            let deadline = limit.map { Date().addingTimeInterval(Double($0)) }
            let ctx = ModuleContext(host: host.name, transport: transport, check: task.checkMode ?? options.check, diff: task.diff ?? options.diff,
                                    becomeUser: useBecome ? become.user : nil, templater: t, playbookDir: playbookDir,
                                    roleDir: task.role?.path, connectedAsRoot: host.remoteUser == "root", environment: environment,
                                    deadline: deadline)
            lock.lock()
            let result: ModuleResult
            do {
                for k in module.pathOptions.sorted() { if let p = args[k] as? String { args[k] = try ctx.expandHome(p) } }
                if let seconds = task.asyncSeconds, task.poll == 0 {
                    result = try AsyncJob.start(ModuleArgs(args, module: task.module), ctx, seconds: seconds)
                } else {
                    result = try module.run(ModuleArgs(args, module: task.module), ctx)
                }
            } catch { lock.unlock(); throw error }
            lock.unlock()
            if let deadline, let seconds = waitAsync, seconds == limit, Date() >= deadline {
                // Ansible's wording for an async task that outran `async:` while polled.
                let msg = "async task did not complete within the requested time - \(seconds)s"
                return TaskOutcome(status: .failed, message: msg,
                                   registered: ["failed": true, "changed": false, "finished": 0, "msg": msg])
            }
            if let deadline, let seconds = task.timeout, Date() >= deadline {
                // Ansible's wording for a task that outran `timeout:`.
                return TaskOutcome(status: .failed, message: "The \(task.module) action failed to execute in the expected time frame (\(seconds)) and was terminated",
                                   registered: ["failed": true, "changed": false, "timedout": ["period": seconds],
                                                "msg": "The \(task.module) action failed to execute in the expected time frame (\(seconds)) and was terminated"])
            }
            var registered = result.data
            registered["changed"] = result.changed
            registered["failed"] = result.failed
            if result.skipped { registered["skipped"] = true }
            if let m = result.msg { registered["msg"] = m }
            if retrying { registered["attempts"] = attempts }
            if waitAsync != nil, registered["finished"] == nil { registered["finished"] = 1 }
            var status: HostStatus = result.skipped ? .skipped : result.failed ? .failed : result.changed ? .changed : .ok
            // changed_when / failed_when / until see the result under the register name.
            if let r = task.register { scope.locals[r] = registered }
            if let cw = task.changedWhen, status != .skipped {
                let changed = try t.condition(cw, location: location)
                registered["changed"] = changed
                if status != .failed { status = changed ? .changed : .ok }
            }
            if let fw = task.failedWhen, status != .skipped {
                let failed = try t.condition(fw, location: location)
                registered["failed"] = failed
                status = failed ? .failed : (registered["changed"] as? Bool == true ? .changed : .ok)
            }
            if let r = task.register { scope.locals[r] = registered }
            if retrying {
                let done = try task.until.map { try t.condition($0, location: location) } ?? (status != .failed)
                if !done && attempts < maxAttempts {
                    Thread.sleep(forTimeInterval: delay)
                    continue
                }
                if !done, let until = task.until {
                    status = .failed
                    registered["failed"] = true
                    registered["msg"] = "condition '\(Values.string(until))' still false after \(attempts) attempts"
                }
            }
            var outcome = TaskOutcome(status: status, message: registered["msg"].map { Values.string($0) }, diff: result.diff,
                                      registered: registered, facts: result.facts)
            if status == .ok || status == .changed {
                // debug shows its message; other modules stay quiet unless -v.
                outcome.message = task.module == "debug" ? result.msg : nil
            } else if status == .failed, outcome.message == nil || outcome.message == "" {
                outcome.message = "failed_when condition is true"
            }
            if options.verbosity > 0 { outcome.details = result.data }
            return outcome
        }
    }
}
