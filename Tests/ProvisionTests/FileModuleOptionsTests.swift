// The file module's states and options as Ansible's documentation writes them (hard links,
// follow, access/modification times, the result keys), over a loopback sshd, then again
// (changed=0).
import Fixtures
import Foundation
import Testing
@testable import Provision

@Suite(.serialized)
struct FileModuleOptionsTests {
    let ssh = SSHPlaybookTests()

    static let playbook = #"""
    - hosts: ssh
      tasks:
        - name: Create a directory if it does not exist
          ansible.builtin.file:
            path: "{{ base }}/etc/some_directory"
            state: directory
            mode: '0755'
          register: dir
        - name: Touch a file, using symbolic modes to set the permissions (equivalent to 0644)
          ansible.builtin.file:
            path: "{{ base }}/etc/foo.conf"
            state: touch
            mode: u=rw,g=r,o=r
          register: touched
        - name: Create two hard links
          ansible.builtin.file:
            src: '{{ base }}/{{ item.src }}'
            dest: '{{ base }}/{{ item.dest }}'
            state: hard
          loop:
            - { src: x, dest: y }
            - { src: z, dest: k }
          register: hard
        - name: A hard link does not replace another file without force
          file: {src: "{{ base }}/x", dest: "{{ base }}/other", state: hard}
          register: refused
          ignore_errors: true
        - name: Create a symbolic link
          ansible.builtin.file:
            src: "{{ base }}/z"
            dest: "{{ base }}/foo.link"
            state: link
          register: link
        - name: A mode given through the link reaches its target (follow defaults to yes), a file with two names
          file: path={{ base }}/foo.link state=file mode=0600
          register: followed
        - name: Update modification and access time of given file
          ansible.builtin.file:
            path: "{{ base }}/x"
            state: file
            modification_time: '2024-01-02 03:04:05'
            modification_time_format: '%Y-%m-%d %H:%M:%S'
            access_time: '202301020304.05'
          register: times
        - name: Touch another file, but dont change times this makes the task idempotent
          ansible.builtin.file:
            path: "{{ base }}/etc/bar.conf"
            state: touch
            mode: u+rw,g-wx,o-rwx
            modification_time: preserve
            access_time: preserve
        - name: state=file on a directory fails as Ansible's does
          file: {path: "{{ base }}/etc", state: file}
          register: notfile
          ignore_errors: true
        - name: what the first run reports
          when: rerun is not defined
          assert:
            that:
              - dir is changed and dir.state == 'directory' and dir.mode == '0755' and dir.path is search('/etc/some_directory$')
              - dir.uid is number and dir.gid is number and dir.owner is string and dir.group is string and dir.size is number
              - touched is changed and touched.state == 'file' and touched.mode == '0644' and touched.size == 0 and touched.dest is defined
              - hard.results[0] is changed and hard.results[0].state == 'hard' and hard.results[0].src == base ~ '/x'
              - refused is failed and refused.msg == 'Cannot link, file exists at destination'
              - link.state == 'link' and link.dest == base ~ '/foo.link'
              - followed is changed and followed.path == base ~ '/z' and followed.mode == '0600' and followed.state == 'hard'
              - times is changed
              - notfile is failed and notfile.msg == 'file (' ~ base ~ '/etc) is directory, cannot continue'
        - name: what the re-run reports
          when: rerun is defined
          assert:
            that:
              - dir is not changed and dir.mode == '0755' and dir.state == 'directory'
              - touched is not changed and touched.mode == '0644'
              - hard.results[1] is not changed and hard.results[1].state == 'hard'
              - followed is not changed and followed.mode == '0600'
              - times is not changed
    """#

    /// Seconds since the epoch of a wall-clock time on this machine (the loopback host's zone).
    func localEpoch(_ text: String) -> Int {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        f.timeZone = .current
        f.locale = Locale(identifier: "en_US_POSIX")
        return Int(f.date(from: text)!.timeIntervalSince1970)
    }

    /// stat(2) of a path (followed) or lstat(2) (not).
    func info(_ path: String, follow: Bool = true) -> stat? {
        var st = stat()
        return (follow ? stat(path, &st) : lstat(path, &st)) == 0 ? st : nil
    }

    @Test func fileStatesAndOptionsOverSSH() throws {
        let sshd = try SSHD()
        defer { sshd.stop() }
        let dir = TempDir()
        defer { dir.remove() }
        dir.write("h1/x", "x\n")
        dir.write("h1/z", "z\n")
        dir.write("h1/other", "other\n")
        let file = dir.write("p.yml", Self.playbook)
        let (first, out) = ssh.run(ssh.inventory([("h1", sshd)], dir: dir), file)
        #expect(first.exitCode == 0, "\(out.text)")
        #expect(first.recap["h1"]?.changed == 7 && first.recap["h1"]?.ignored == 2, "\(out.text)")

        let base = dir.path + "/h1"
        let x = try #require(info(base + "/x")), y = try #require(info(base + "/y"))
        let z = try #require(info(base + "/z")), k = try #require(info(base + "/k"))
        #expect(x.st_ino == y.st_ino && x.st_nlink == 2 && z.st_ino == k.st_ino)
        #expect(dir.read("h1/other") == "other\n", "the refused hard link left the file")
        #expect(info(base + "/z").map { $0.st_mode & 0o7777 } == 0o600 && info(base + "/etc/foo.conf").map { $0.st_mode & 0o7777 } == 0o644)
        #expect(info(base + "/etc/bar.conf").map { $0.st_mode & 0o7777 } == 0o640)
        #expect(info(base + "/foo.link", follow: false).map { $0.st_mode & S_IFMT } == S_IFLNK)
        #expect(x.st_mtim.tv_sec == localEpoch("2024-01-02 03:04:05") && x.st_mtim.tv_nsec == 0)
        #expect(x.st_atim.tv_sec == localEpoch("2023-01-02 03:04:05"))

        let (second, out2) = ssh.run(ssh.inventory([("h1", sshd)], dir: dir, extra: ["h1": ["rerun": true]]), file)
        #expect(second.exitCode == 0 && second.changedTotal == 0, "\(out2.text)")
        #expect(second.recap["h1"]?.skipped == 1, "only the first run's assert is skipped")
    }

    @Test func followNoActsOnTheLinkAndBadTimesAreRefused() throws {
        let sshd = try SSHD()
        defer { sshd.stop() }
        let dir = TempDir()
        defer { dir.remove() }
        dir.write("h1/target", "t\n")
        let file = dir.write("p.yml", #"""
        - hosts: ssh
          tasks:
            - file: {src: target, dest: "{{ base }}/rel.link", state: link}
            - name: follow no on a link - the link's own times, the target keeps its own
              file: {src: target, path: "{{ base }}/rel.link", state: link, follow: false, modification_time: '200001010000.00'}
              register: own
            - file: {path: "{{ base }}/target", modification_time: 'yesterday'}
              register: bad
              ignore_errors: true
            - assert:
                that:
                  - own.state == 'link' and own.src == 'target'
                  - bad is failed and bad.msg is search('does not match format')
        """#)
        let (first, out) = ssh.run(ssh.inventory([("h1", sshd)], dir: dir), file)
        #expect(first.exitCode == 0, "\(out.text)")
        let l = try #require(info(dir.path + "/h1/rel.link", follow: false)), t = try #require(info(dir.path + "/h1/target"))
        #expect(l.st_mtim.tv_sec == localEpoch("2000-01-01 00:00:00") && t.st_mtim.tv_sec != l.st_mtim.tv_sec)
        let (second, out2) = ssh.run(ssh.inventory([("h1", sshd)], dir: dir), file)
        #expect(second.exitCode == 0 && second.changedTotal == 0, "\(out2.text)")
    }
}
