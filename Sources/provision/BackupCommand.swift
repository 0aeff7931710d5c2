import ArgumentParser
import Provision

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Take a pgBackRest backup on the backup host (from the current primary); done once `pgbackrest info` lists it.")
    @OptionGroup var cluster: ClusterArguments
    @Option(help: "full, diff or incr (a diff or incr without a prior full becomes a full, as pgBackRest does).")
    var type: BackupType = .full

    func run() throws {
        let workflow = try cluster.workflow()
        let made = try clusterCall { try workflow.backup(type: type) }
        print("backup \(made.label) (\(made.type)) done: \(BackupInfoText.line(made))")
    }
}

struct BackupsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backups",
        abstract: "List the backups in the pgBackRest repository: label, type, start/stop time, size, WAL range.")
    @OptionGroup var cluster: ClusterArguments
    @Flag(help: "Print a JSON document instead of the table.") var json = false

    func run() throws {
        let workflow = try cluster.workflow()
        let info = try clusterCall { try workflow.backups() }
        print(json ? Values.json(info.json, pretty: true) : info.table, terminator: json ? "\n" : "")
    }
}

enum BackupInfoText {
    static func line(_ b: BackupSet) -> String {
        "stopped \(b.stop), \(b.databaseBytes) bytes of database, \(b.repositoryBytes) in the repository, WAL \(b.walStart) - \(b.walStop)"
    }
}

extension BackupType: ExpressibleByArgument {}
