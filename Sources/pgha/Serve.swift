import AgentCore
import ArgumentParser
import CLI
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// `pgha serve --config FILE`: runs the agent in the foreground until SIGTERM.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HA agent for this member.")

    @Option(name: .long, help: "patroni.yml-style configuration file.")
    var config: String

    func run() async throws {
        Agent.useFewThreads()
        let loaded: LoadedConfig
        do { loaded = try ConfigLoader.load(path: config) } catch { throw CommandFailure(.usage, "\(error)") }
        let level = Logger.Level(rawValue: loaded.config.logLevel == "warn" ? "warning" : loaded.config.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        var logger = Logger(label: "pgha[\(loaded.config.name)]")
        logger.logLevel = level
        for warning in loaded.warnings { logger.warning("\(warning)") }
        do { try await Agent.serve(loaded.config, configPath: config, logger: logger) } catch let error as ConfigError {
            // A TLS file that cannot be read is a configuration error too: same message shape, same exit code.
            throw CommandFailure(.usage, "\(error)")
        } catch let error as DuplicateMemberName {
            // Patroni exits 1 too: a configuration mistake, and nothing was started.
            throw CommandFailure(.usage, "\(error)")
        }
    }
}
