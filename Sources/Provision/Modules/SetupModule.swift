import Foundation

/// `setup` / `gather_facts`: a small fact set in ONE round trip (sh + coreutils only):
/// hostname, fqdn, IPv4 addresses, OS release, kernel, architecture, CPU count, memory,
/// init system, user. Facts become `ansible_*` variables and `ansible_facts`.
public struct SetupModule: ProvisionModule {
    public static let name = "setup"
    public static let options: [OptionSpec] = [OptionSpec("gather_subset", .any)]

    static let script = """
    echo "hostname=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"
    echo "fqdn=$(hostname -f 2>/dev/null || hostname 2>/dev/null)"
    if [ -r /etc/os-release ]; then . /etc/os-release; fi
    echo "os_id=${ID:-}"; echo "os_like=${ID_LIKE:-}"; echo "os_name=${NAME:-}"; echo "os_version=${VERSION_ID:-}"
    echo "os_codename=${VERSION_CODENAME:-}"; echo "os_pretty=${PRETTY_NAME:-}"
    echo "kernel=$(uname -r)"; echo "system=$(uname -s)"; echo "arch=$(uname -m)"; echo "cpus=$(nproc 2>/dev/null || echo 1)"
    while read -r k v _; do [ "$k" = MemTotal: ] && echo "memtotal_kb=$v"; done < /proc/meminfo
    echo "init=$(cat /proc/1/comm 2>/dev/null)"; echo "user=$(id -un)"
    ip -o -4 addr show 2>/dev/null | while read -r _ dev _ addr _; do echo "addr=$dev ${addr%/*}"; done
    """

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let r = try ctx.transport.run(script, input: nil)
        guard r.exitStatus == 0 else { return .fail("gathering facts failed: \(r.stderr)") }
        let facts = parse(r.stdout)
        var result = ModuleResult(data: ["ansible_facts": facts])
        result.facts = facts.merging(["ansible_facts": facts]) { a, _ in a }
        return result
    }

    static func parse(_ out: String) -> [String: Any] {
        var kv: [String: String] = [:]
        var addrs: [(String, String)] = []
        for line in out.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            let k = String(line[..<eq]), v = String(line[line.index(after: eq)...])
            if k == "addr" {
                let p = v.split(separator: " ")
                if p.count == 2 { addrs.append((String(p[0]), String(p[1]))) }
            } else { kv[k] = v }
        }
        let ipv4 = addrs.filter { !$0.1.hasPrefix("127.") }.map(\.1)
        let id = kv["os_id"] ?? ""
        let family = (id == "debian" || (kv["os_like"] ?? "").contains("debian")) ? "Debian" : id.capitalized
        var facts: [String: Any] = [
            "ansible_hostname": kv["hostname"] ?? "", "ansible_nodename": kv["hostname"] ?? "", "ansible_fqdn": kv["fqdn"] ?? "",
            "ansible_distribution": kv["os_name"].map { $0.components(separatedBy: " ").first ?? $0 } ?? "",
            "ansible_distribution_version": kv["os_version"] ?? "", "ansible_distribution_release": kv["os_codename"] ?? "",
            "ansible_os_family": family, "ansible_kernel": kv["kernel"] ?? "", "ansible_system": kv["system"] ?? "Linux", "ansible_architecture": kv["arch"] ?? "",
            "ansible_processor_vcpus": Int(kv["cpus"] ?? "") ?? 1, "ansible_processor_count": Int(kv["cpus"] ?? "") ?? 1,
            "ansible_memtotal_mb": (Int(kv["memtotal_kb"] ?? "") ?? 0) / 1024,
            "ansible_service_mgr": kv["init"] == "systemd" ? "systemd" : (kv["init"] ?? "unknown"),
            "ansible_user_id": kv["user"] ?? "", "ansible_all_ipv4_addresses": ipv4,
            "ansible_os_pretty_name": kv["os_pretty"] ?? "",
        ]
        if let first = addrs.first(where: { !$0.1.hasPrefix("127.") }) {
            facts["ansible_default_ipv4"] = ["address": first.1, "interface": first.0]
        } else {
            facts["ansible_default_ipv4"] = [String: Any]()
        }
        return facts
    }
}

/// `gather_facts` as a task: the same as `setup`.
public struct GatherFactsModule: ProvisionModule {
    public static let name = "gather_facts"
    public static let options = SetupModule.options
    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult { try SetupModule.run(args, ctx) }
}
