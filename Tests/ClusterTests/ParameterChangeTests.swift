import Testing
@testable import Provision

@Suite struct ParameterChangeTests {
    @Test func patchAndLiveConditionFromArguments() throws {
        let change = try ParameterChange(arguments: ["max_connections=150", "work_mem=8MB", "jit=off"])
        #expect(change.parametersJSON == #"{"max_connections": 150, "work_mem": "8MB", "jit": "off"}"#)
        #expect(change.configPatchJSON == #"{"postgresql": {"parameters": {"max_connections": 150, "work_mem": "8MB", "jit": "off"}}}"#)
        #expect(change.liveSQL == "lower(current_setting('max_connections')) = '150' and lower(current_setting('work_mem')) = '8mb' "
                + "and lower(current_setting('jit')) = 'off'")
    }

    @Test func quotesCannotEscapeTheirStrings() throws {
        let change = try ParameterChange(arguments: ["application_name=o'neil\"x"])
        #expect(change.liveSQL == "lower(current_setting('application_name')) = 'o''neil\"x'")
        #expect(change.parametersJSON == #"{"application_name": "o'neil\"x"}"#)
    }

    @Test(arguments: [
        ([String](), "at least one"),
        (["max_connections"], "is not name=value"),
        (["max connections=1"], "is not a Postgres parameter name"),
        (["x';drop table t;--=2"], "is not a Postgres parameter name"),
        (["work_mem="], "empty value"),
        (["work_mem=1MB", "WORK_MEM=2MB"], "given twice"),
    ])
    func badArgumentsAreRefused(arguments: [String], reason: String) {
        do {
            _ = try ParameterChange(arguments: arguments)
            Issue.record("accepted \(arguments)")
        } catch {
            #expect("\(error)".contains(reason))
        }
    }
}
