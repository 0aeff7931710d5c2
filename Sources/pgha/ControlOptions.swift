import AgentCore
import ArgumentParser
import Foundation

/// Flags every control command shares: where the cluster's configuration is.
struct ControlOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "patroni.yml-style configuration file (etcd hosts, scope, REST auth); $PGHA_CONFIG.")
    var config: String = ProcessInfo.processInfo.environment["PGHA_CONFIG"] ?? "/etc/pgha/pgha.yml"
}

enum Control {
    /// Runs `body` with a client; errors become one line on stderr and exit status 1.
    static func run(_ options: ControlOptions, force: Bool = false, _ body: (ClusterActions) async throws -> Void) async throws {
        let client: ControlClient
        do { client = try ControlClient.load(path: options.config) } catch { fail("\(error)") }
        let actions = ClusterActions(client: client, say: { print($0) }, confirm: { question in
            if force || isatty(0) == 0 { return true }
            print("\(question) [y/N]: ", terminator: "")
            fflush(stdout)
            return ["y", "yes"].contains(readLine()?.lowercased() ?? "")
        })
        do {
            try await body(actions)
        } catch {
            await client.shutdown()
            fail("\(error)")
        }
        await client.shutdown()
    }

    static func fail(_ message: String) -> Never {
        fflush(stdout)
        FileHandle.standardError.write(Data("pgha: \(message)\n".utf8))
        Foundation.exit(1)
    }
}

extension OutputFormat: ExpressibleByArgument {}
