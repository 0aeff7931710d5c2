// copy's remote_src (a file or a tree already on the host), directory trees from the
// controller, directory_mode and mode: preserve, as Ansible's documentation writes them, over
// a loopback sshd, then again (changed=0).
import Fixtures
import Foundation
import Testing
@testable import Provision

@Suite(.serialized)
struct CopyOptionsTests {
    let ssh = SSHPlaybookTests()

    static let playbook = #"""
    - hosts: ssh
      tasks:
        - name: Copy a "sudoers" file on the remote machine for editing
          ansible.builtin.copy:
            src: "{{ base }}/sudoers"
            dest: "{{ base }}/sudoers.edit"
            remote_src: yes
            validate: /bin/sh -c 'grep -q "^root" "$0"' %s
            mode: '0440'
          register: remote_file
        - name: Copy a new "ntp.conf" file into place, backing up the original if it differs from the copied version
          ansible.builtin.copy:
            src: "{{ base }}/ntp.conf"
            dest: "{{ base }}/etc/ntp.conf"
            remote_src: yes
            mode: preserve
            backup: yes
          register: ntp
        - name: Copy a directory that is on the host, the directory itself
          ansible.builtin.copy:
            src: "{{ base }}/tree"
            dest: "{{ base }}/copied"
            remote_src: true
            directory_mode: '0750'
            mode: preserve
          register: rtree
        - name: Copy what is in a controller directory (src ends with /)
          ansible.builtin.copy:
            src: conf.d/
            dest: "{{ base }}/conf.d"
            directory_mode: '0700'
            mode: '0600'
          register: ltree
        - name: A template keeps its own mode with mode=preserve
          template: {src: run.sh.j2, dest: "{{ base }}/run.sh", mode: preserve}
        - name: follow=yes writes through a link to its target
          copy: {content: "through\n", dest: "{{ base }}/via.link", follow: true}
        - name: follow=no (the default) replaces a link by a file
          copy: {content: "own\n", dest: "{{ base }}/own.link"}
        - name: A remote src that is not there
          copy: {src: "{{ base }}/nope", dest: "{{ base }}/x", remote_src: true}
          register: missing
          ignore_errors: true
        - name: what the first run reports
          when: rerun is not defined
          assert:
            that:
              - remote_file is changed and remote_file.mode == '0440' and remote_file.checksum == sudoers_sha1
              - ntp is changed and ntp.backup_file is search('ntp\.conf\.[0-9]+\..*~$') and ntp.mode == '0600'
              - rtree is changed and rtree.dest == base ~ '/copied/tree'
              - ltree is changed and ltree.dest == base ~ '/conf.d'
              - missing is failed and missing.msg == 'Source ' ~ base ~ '/nope not found'
        - name: what the re-run reports
          when: rerun is defined
          assert:
            that:
              - remote_file is not changed and remote_file.checksum | length == 40 and remote_file.size == 19
              - ntp is not changed and ltree is not changed
    """#

    func mode(_ path: String) -> UInt32? {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? NSNumber).map { $0.uint32Value & 0o7777 }
    }

    @Test func remoteSourcesTreesAndDirectoryModesOverSSH() throws {
        let sshd = try SSHD()
        defer { sshd.stop() }
        let dir = TempDir()
        defer { dir.remove() }
        let base = dir.path + "/h1"
        dir.write("h1/sudoers", "root ALL=(ALL) ALL\n")
        dir.write("h1/ntp.conf", "server ntp.example\n")
        chmod(base + "/ntp.conf", 0o600)
        dir.write("h1/etc/ntp.conf", "old\n")
        dir.write("h1/tree/a", "a\n")
        dir.write("h1/tree/sub/b", "b\n")
        chmod(base + "/tree/sub/b", 0o700)
        dir.write("h1/linked", "old\n")
        dir.write("h1/kept", "kept\n")
        symlink("linked", base + "/via.link")
        symlink("kept", base + "/own.link")
        dir.write("templates/run.sh.j2", "#!/bin/sh\necho {{ inventory_hostname }}\n")
        chmod(dir.path + "/templates/run.sh.j2", 0o750)
        dir.write("files/conf.d/one.conf", "1\n")
        dir.write("files/conf.d/sub/two.conf", "2\n")
        let file = dir.write("p.yml", Self.playbook)
        let sha1 = SHA1.hex(Data("root ALL=(ALL) ALL\n".utf8))
        let (first, out) = ssh.run(ssh.inventory([("h1", sshd)], dir: dir, extra: ["h1": ["sudoers_sha1": sha1]]), file)
        #expect(first.exitCode == 0, "\(out.text)")
        #expect(first.recap["h1"]?.changed == 7 && first.recap["h1"]?.ignored == 1, "\(out.text)")

        #expect(dir.read("h1/sudoers.edit") == "root ALL=(ALL) ALL\n" && mode(base + "/sudoers.edit") == 0o440)
        #expect(dir.read("h1/etc/ntp.conf") == "server ntp.example\n" && mode(base + "/etc/ntp.conf") == 0o600)
        let backups = try FileManager.default.contentsOfDirectory(atPath: base + "/etc").filter { $0.hasPrefix("ntp.conf.") }
        #expect(backups.count == 1 && backups.first.flatMap { dir.read("h1/etc/" + $0) } == "old\n")
        #expect(dir.read("h1/copied/tree/a") == "a\n" && dir.read("h1/copied/tree/sub/b") == "b\n")
        #expect(mode(base + "/copied/tree") == 0o750 && mode(base + "/copied/tree/sub") == 0o750 && mode(base + "/copied/tree/sub/b") == 0o700)
        #expect(dir.read("h1/conf.d/one.conf") == "1\n" && dir.read("h1/conf.d/sub/two.conf") == "2\n")
        #expect(dir.read("h1/linked") == "through\n" && (try? FileManager.default.destinationOfSymbolicLink(atPath: base + "/via.link")) == "linked")
        #expect(dir.read("h1/kept") == "kept\n" && dir.read("h1/own.link") == "own\n"
                && (try? FileManager.default.destinationOfSymbolicLink(atPath: base + "/own.link")) == nil)
        #expect(dir.read("h1/run.sh") == "#!/bin/sh\necho h1\n" && mode(base + "/run.sh") == 0o750)
        #expect(mode(base + "/conf.d") == 0o700 && mode(base + "/conf.d/sub") == 0o700 && mode(base + "/conf.d/sub/two.conf") == 0o600)

        // A changed source file is copied again; a file only in dest is left alone.
        dir.write("h1/tree/a", "a2\n")
        dir.write("h1/copied/tree/extra", "mine\n")
        let rerun = ssh.inventory([("h1", sshd)], dir: dir, extra: ["h1": ["rerun": true]])
        let (second, out2) = ssh.run(rerun, file)
        #expect(second.exitCode == 0 && second.changedTotal == 1, "\(out2.text)")
        #expect(dir.read("h1/copied/tree/a") == "a2\n" && dir.read("h1/copied/tree/extra") == "mine\n")

        let (third, out3) = ssh.run(rerun, file)
        #expect(third.exitCode == 0 && third.changedTotal == 0, "\(out3.text)")
        #expect(third.recap["h1"]?.skipped == 1)
    }
}
