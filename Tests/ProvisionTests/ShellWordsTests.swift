// `validate` commands are split like Python's shlex.split (what Ansible's run_command does).
import Testing
@testable import Provision

struct ShellWordsTests {
    @Test(arguments: [
        ("visudo -cf %s", ["visudo", "-cf", "%s"]),
        (#"/bin/sh -c "! grep -q bad \"$0\"" %s"#, ["/bin/sh", "-c", #"! grep -q bad "$0""#, "%s"]),
        ("sh -c 'test -s $0 && echo ok' %s", ["sh", "-c", "test -s $0 && echo ok", "%s"]),
        (#"a\ b "c\d" 'e\f' '' x"y"z"#, ["a b", #"c\d"#, #"e\f"#, "", "xyz"]),
        ("  spaced\tout\n", ["spaced", "out"]),
    ])
    func splitsAsShlex(_ text: String, _ words: [String]) throws {
        #expect(try ShellWords.split(text) == words)
    }

    @Test func unclosedQuoteIsAnError() {
        #expect(throws: ShellWords.SplitError.self) { try ShellWords.split("sh -c 'echo %s") }
        #expect(throws: ShellWords.SplitError.self) { try ShellWords.split(#"trailing \"#) }
    }

    @Test func formatIsPythonPercent() {
        #expect(ShellWords.format("%s", "/tmp/x") == "/tmp/x")
        #expect(ShellWords.format("100%% of %s", "f") == "100% of f")
    }
}
