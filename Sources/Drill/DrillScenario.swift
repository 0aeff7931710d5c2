// The faults a drill injects, and how each is undone so the next trial starts from a whole cluster.
import Foundation
import Provision

public enum DrillScenario: String, CaseIterable, Sendable {
    case killPrimaryHost = "kill-primary-host"
    case killPostgres = "kill-postgres"
    case killAgent = "kill-agent"
    case freezeAgent = "freeze-agent"
    case partitionPrimary = "partition-primary"
    case etcdLeaderHostLoss = "etcd-leader-host-loss"
    case etcdQuorumLoss = "etcd-quorum-loss"
    case switchover
    case rollingRestart = "rolling-restart"
    case rebuildReplica = "rebuild-replica"
    case killBalancer = "kill-balancer"

    public var summary: String {
        switch self {
        case .killPrimaryHost: return "pulled plug on the primary's host (lab kill), started again afterwards"
        case .killPostgres: return "SIGKILL of the primary's postmaster"
        case .killAgent: return "SIGKILL of the primary's pgha (systemd restarts it)"
        case .freezeAgent: return "SIGSTOP of the primary's pgha for 2 × ttl, then SIGCONT"
        case .partitionPrimary: return "the primary's host cut off from every other lab host, healed afterwards"
        case .etcdLeaderHostLoss: return "pulled plug on the host that leads etcd and holds the primary"
        case .etcdQuorumLoss: return "etcd stopped on two members for a while, then started"
        case .switchover: return "provision switchover"
        case .rollingRestart: return "provision set of a restart-only parameter (rolling restart)"
        case .rebuildReplica: return "provision rebuild of a replica"
        case .killBalancer: return "pulled plug on the balancer in front of the cluster"
        }
    }

    /// Whether the fault is meant to move the primary (promote time is reported only then).
    var movesPrimary: Bool {
        switch self {
        case .killPrimaryHost, .freezeAgent, .partitionPrimary, .etcdLeaderHostLoss, .switchover: return true
        default: return false
        }
    }
}

/// Injects a scenario's fault into a lab cluster and puts things back afterwards.
final class FaultInjector {
    let scenario: DrillScenario
    let target: DrillTarget
    let workflow: ClusterWorkflow
    let lab: Lab?
    let log: (String) -> Void
    /// What `inject` did, for `restore`.
    private var victim: String?
    private var stoppedEtcd: [String] = []

    init(scenario: DrillScenario, target: DrillTarget, workflow: ClusterWorkflow, log: @escaping (String) -> Void) throws {
        self.scenario = scenario; self.target = target; self.workflow = workflow; self.log = log
        lab = workflow.declaresLab ? try Lab(inventory: workflow.inventory, path: workflow.inventoryPath, log: { _ in }) : nil
    }

    func requireLab() throws -> Lab {
        guard let lab else { throw DrillError("scenario \(scenario.rawValue) pulls plugs or cuts links: it needs an inventory that declares a lab") }
        return lab
    }

    /// Checks what the scenario needs before any client starts; may prepare (etcd-leader-host-loss
    /// first moves the primary onto the host that leads etcd).
    func prepare(primary: String) throws {
        switch scenario {
        case .killPrimaryHost, .partitionPrimary, .etcdLeaderHostLoss, .killBalancer: _ = try requireLab()
        default: break
        }
        if scenario == .killBalancer && target.balancers.count < 2 {
            throw DrillError("kill-balancer needs two balancers in group 'haproxy' (it has \(target.balancers.map(\.name).joined(separator: ", "))): with one, killing it cuts every client off by design")
        }
        if scenario == .etcdQuorumLoss && target.etcdMembers.count < 3 {
            throw DrillError("etcd-quorum-loss needs at least three etcd members (group 'etcd')")
        }
        if scenario == .etcdLeaderHostLoss {
            guard let leader = target.etcdLeader() else { throw DrillError("no etcd member said who leads etcd") }
            guard target.databases.contains(where: { $0.name == leader.name }) else {
                throw DrillError("etcd is led by \(leader.name), which holds no database: etcd-leader-host-loss needs etcd on the database hosts")
            }
            if leader.name != primary {
                log("moving the primary to \(leader.name), which leads etcd")
                try workflow.switchover(to: leader.name)
            }
        }
    }

    /// Injects the fault (blocking for the faults that last a while, such as a freeze).
    func inject(primary: String, ttl: Double) throws {
        victim = primary
        switch scenario {
        case .killPrimaryHost, .etcdLeaderHostLoss:
            try requireLab().kill(host: primary)
        case .killPostgres:
            try ssh(primary, "kill -9 $(head -1 \(target.dataDir)/postmaster.pid)")
        case .killAgent:
            try ssh(primary, "kill -9 $(systemctl show -p MainPID --value pgha)")
        case .freezeAgent:
            try ssh(primary, "kill -STOP $(systemctl show -p MainPID --value pgha)")
            Thread.sleep(forTimeInterval: 2 * ttl)
            // A watchdog may have power-cycled the host meanwhile: then there is nothing to wake.
            do { try ssh(primary, "kill -CONT $(systemctl show -p MainPID --value pgha)") } catch { log("SIGCONT: \(error)") }
        case .partitionPrimary:
            try requireLab().partition(host: primary)
        case .etcdQuorumLoss:
            let chosen = Array(target.etcdMembers.map(\.name).prefix(2))
            for h in chosen { try ssh(h, "systemctl stop etcd") }
            stoppedEtcd = chosen
            Thread.sleep(forTimeInterval: 2 * ttl)
            for h in stoppedEtcd { try ssh(h, "systemctl start etcd") }
            stoppedEtcd = []
        case .switchover:
            try workflow.switchover(to: nil)
        case .rollingRestart:
            let current = try ssh(primary, "su postgres -c \"psql -XAtqc 'SHOW max_connections'\"").trimmingCharacters(in: .whitespacesAndNewlines)
            guard let n = Int(current) else { throw DrillError("max_connections on \(primary): \(current)") }
            try workflow.set(ParameterChange(arguments: ["max_connections=\(n + 5)"]))
        case .rebuildReplica:
            guard let replica = target.databases.map(\.name).first(where: { $0 != primary }) else { throw DrillError("no replica to rebuild") }
            victim = replica
            try workflow.rebuild(host: replica, forceFailover: false)
        case .killBalancer:
            // The balancer clients reach: the one holding the floating address, else the first.
            let holder = target.vip == nil ? nil : BalancerStatus.fetch(inventory: workflow.inventory).holders.first
            let name = holder ?? target.balancers[0].name
            victim = name
            log("pulling the plug on balancer \(name)" + (holder == nil ? "" : " (holds \(target.vip!))"))
            try requireLab().kill(host: name)
        }
    }

    /// Called once writes flow again (or the observation window ended): undoes what stays broken.
    func restore() throws {
        guard let victim else { return }
        for h in stoppedEtcd { _ = try? ssh(h, "systemctl start etcd") }
        switch scenario {
        case .killPrimaryHost, .etcdLeaderHostLoss, .killBalancer:
            try requireLab().start(host: victim)
        case .freezeAgent:
            // Woken by SIGCONT already; a host its watchdog power-cycled is booted by whoever
            // serves the watchdog (the lab's watchdog server), not here: two boots would race.
            break
        case .partitionPrimary:
            try requireLab().heal(host: victim)
        default: break
        }
    }

    @discardableResult
    func ssh(_ host: String, _ command: String) throws -> String {
        let t = try Connector.transport(forHost: host, variables: workflow.inventory.variables(forHost: host))
        defer { t.close() }
        let r = try t.run(command)
        guard r.exitStatus == 0 else { throw DrillError("\(host): `\(command)` exit \(r.exitStatus): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
        return r.stdout
    }
}
