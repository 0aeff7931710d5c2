import Foundation

/// A parsed, validated playbook: plays in order (import_playbook already expanded).
public struct Playbook {
    public var path: String
    public var plays: [Play]
}

/// How many hosts a play runs on at once: a number, a percentage, or a list of those
/// (the last entry repeats), like Ansible's `serial`.
public enum SerialStep: Equatable {
    case count(Int)
    case percent(Double)
}

public struct Play {
    public var name: String
    public var hosts: String
    public var vars: [String: Any] = [:]
    public var varsFiles: [String] = []
    public var serial: [SerialStep] = []
    public var maxFailPercentage: Double?
    public var anyErrorsFatal = false
    /// `force_handlers`: notified handlers run at the end even on hosts that failed since.
    public var forceHandlers = false
    public var gatherFacts = false
    public var become = false
    public var becomeUser: String?
    /// `remote_user` / `connection` as written; the engine warns where they are not applied.
    public var remoteUser: String?
    public var connection: String?
    public var tags: [String] = []
    /// `environment:` for every task of the play (a block's or task's own wins per variable).
    public var environment: [String: Any] = [:]
    public var tasks: [TaskSpec] = []
    public var handlers: [TaskSpec] = []
    /// Directory of the file the play came from (relative paths of vars_files, src, templates).
    public var directory: String
    public var location: SourceLocation
}

/// One task (or handler) with its keywords; `args` are untemplated.
public struct TaskSpec {
    public var name: String?
    public var module: String
    public var args: [String: Any] = [:]
    public var when: [Any] = []
    public var loop: Any?
    /// Which keyword gave `loop`: they differ in how the value becomes items.
    public var loopStyle = LoopStyle.loop
    public var loopVar = "item"
    /// loop_control `index_var`: the item's 0-based position under this name.
    public var indexVar: String?
    /// loop_control `label`: a template shown instead of the whole item.
    public var loopLabel: String?
    /// loop_control `extended`: `ansible_loop` (index, index0, first, last, length, revindex,
    /// revindex0, allitems, previtem, nextitem) for each item.
    public var loopExtended = false
    /// loop_control `pause`: seconds between items.
    public var loopPause: Double = 0
    public var register: String?
    public var notify: [String] = []
    public var listen: [String] = []
    public var changedWhen: Any?
    public var failedWhen: Any?
    public var ignoreErrors = false
    public var tags: [String] = []
    public var runOnce = false
    public var delegateTo: String?
    /// `delegate_facts`: facts the task sets (set_fact, setup) go to the delegated host.
    public var delegateFacts = false
    public var until: Any?
    public var retries = 3
    /// `retries` was written: without `until` the task is then retried until it does not fail
    /// (ansible-core 2.16); without either it runs once.
    public var retriesGiven = false
    public var delay: Double = 5
    /// `retries` / `delay` given as templates, rendered when the task runs.
    public var retriesTemplate: String?
    public var delayTemplate: String?
    public var noLog = false
    /// At most this many hosts run the task at once (below --forks).
    public var throttle: Int?
    /// `check_mode: false` runs the task for real even under --check (read-only commands);
    /// `check_mode: true` runs it in check mode even without --check.
    public var checkMode: Bool?
    public var become: Bool?
    public var becomeUser: String?
    /// `diff:` on the task: show (or hide) its diffs whatever --diff says.
    public var diff: Bool?
    /// `ignore_unreachable`: an unreachable host counts as ok + ignored and stays in the play.
    public var ignoreUnreachable = false
    /// `timeout`: seconds the task may take; a slower one fails (its commands are killed).
    public var timeout: Int?
    /// `async`: seconds the task may run. With `poll` > 0 the task waits for it (a slower one
    /// fails, as under `timeout`); with `poll: 0` (command / shell) it starts detached and
    /// `async_status` reads its result later.
    public var asyncSeconds: Int?
    /// `poll`: Ansible's default is 15 s between checks; here a waiting task simply waits, so only
    /// 0 (fire and forget) against > 0 (wait) matters.
    public var poll = 15
    /// `remote_user` as written (connections come from the inventory; warned where it differs).
    public var remoteUser: String?
    public var vars: [String: Any] = [:]
    /// Environment variables exported for the module's commands (templates rendered per host).
    public var environment: [String: Any] = [:]
    public var location: SourceLocation
    /// Set for a task that came from a role: its defaults (below inventory vars), its vars
    /// (above play vars, with `role_name` / `role_path`) and its directory (files/, templates/).
    public var role: RoleScope?
    /// Set (with module "block") for a `block` that has `rescue` or `always`; a plain block is
    /// flattened into its tasks when parsed.
    public var block: BlockSpec?

    /// Name shown in output: the task's name, else the module name.
    public var displayName: String { name ?? module }

    /// This task, or every task inside it when it is a block (recursively).
    public var flattened: [TaskSpec] {
        guard let b = block else { return [self] }
        return (b.tasks + b.rescue + b.always).flatMap(\.flattened)
    }

    /// Applies `change` to this task, or to every task inside it when it is a block.
    mutating func updateAll(_ change: (inout TaskSpec) -> Void) {
        guard var b = block else { change(&self); return }
        for i in b.tasks.indices { b.tasks[i].updateAll(change) }
        for i in b.rescue.indices { b.rescue[i].updateAll(change) }
        for i in b.always.indices { b.always[i].updateAll(change) }
        block = b
    }
}

/// The loop keywords, as Ansible documents them: `loop` needs a list; `with_items` flattens
/// one level (and takes a single value as a list of one); `with_list` takes the list as is;
/// `with_dict` gives `{key, value}` items; `with_nested`, `with_sequence` and `with_subelements`
/// are in LoopLookups.swift.
public enum LoopStyle: String {
    case loop, withItems = "with_items", withList = "with_list", withDict = "with_dict"
    case withNested = "with_nested", withSequence = "with_sequence", withSubelements = "with_subelements"
    case withFileglob = "with_fileglob", withTogether = "with_together", withIndexedItems = "with_indexed_items"
    case withFirstFound = "with_first_found"

    /// The items of a rendered loop value; `playbookDir` anchors `with_fileglob`'s relative
    /// patterns, `variables` (role_path, playbook_dir) with_first_found's.
    func items(_ value: Any, playbookDir: String = ".", variables: @escaping (String) -> Any? = { _ in nil }) throws -> [Any] {
        switch self {
        case .loop:
            guard let a = value as? [Any] else {
                throw ProvisionError("Invalid data passed to 'loop', it requires a list, got \(Values.typeName(value)) instead")
            }
            return a
        case .withItems: return (value as? [Any] ?? [value]).flatMap { ($0 as? [Any]) ?? [$0] }
        case .withList: return value as? [Any] ?? [value]
        case .withDict:
            guard let d = value as? [String: Any] else { throw ProvisionError("with_dict expects a mapping, got \(Values.typeName(value))") }
            return d.keys.sorted().map { ["key": $0, "value": d[$0]!] as [String: Any] }
        case .withNested: return try LoopLookups.nested(value)
        case .withSequence: return try LoopLookups.sequence(value)
        case .withSubelements: return try LoopLookups.subelements(value)
        case .withFileglob: return try LoopLookups.fileglob(value, playbookDir: playbookDir)
        case .withTogether: return Lookups.together([value])
        case .withIndexedItems: return try Lookups.run("indexed_items", [value], [:], variables)
        case .withFirstFound:
            return try Lookups.run("first_found", [value], [:]) { variables($0) ?? ($0 == "playbook_dir" ? playbookDir : nil) }
        }
    }
}

/// Ansible's block / rescue / always: `rescue` runs on the hosts that failed in `tasks` (who
/// then count as rescued, not failed, and see `ansible_failed_task` / `ansible_failed_result`);
/// `always` runs on every host that entered the block, failed or not.
public struct BlockSpec {
    public var tasks: [TaskSpec]
    public var rescue: [TaskSpec]
    public var always: [TaskSpec]
}

/// What a role's task sees of its role.
public struct RoleScope {
    public var name: String
    public var path: String
    public var defaults: [String: Any]
    public var vars: [String: Any]
}
