import ArgumentParser
import CLI
import Foundation
import Provision
#if canImport(Glibc)
import Glibc
#endif

struct LabSSH: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssh", abstract: "ssh into a host as root with the lab key and known_hosts (strict checking).",
        discussion: "provision lab ssh inventories/lab pg1 -- systemctl status etcd")
    @OptionGroup var options: LabInventoryArgument
    @Argument(help: "Host name from the inventory.") var host: String
    @Argument(parsing: .postTerminator, help: "Command to run instead of a shell.") var command: [String] = []

    func run() throws {
        let lab = try options.lab()
        let argv = try labCall { try lab.sshArguments(host: host, command: command) }
        let cargs = argv.map { strdup($0) } + [nil]
        execv(argv[0], cargs)
        throw CommandFailure(.failed, "cannot exec \(argv[0]): \(String(cString: strerror(errno)))")
    }
}
