// The one line diff of the package (longest common subsequence): provision's --diff and
// `pgha edit-config` render its operations, each in its own format.
public enum LineDiff {
    public enum Op: Character, Sendable {
        case same = " ", removed = "-", added = "+"
    }

    /// `a` turned into `b`, line by line; removals come before additions, as in diff -u.
    public static func ops(_ a: [String], _ b: [String]) -> [(Op, String)] {
        let n = a.count, m = b.count
        var dp = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                dp[i][j] = a[i] == b[j] ? dp[i + 1][j + 1] + 1 : max(dp[i + 1][j], dp[i][j + 1])
            }
        }
        var ops: [(Op, String)] = []
        var i = 0, j = 0
        while i < n || j < m {
            if i < n, j < m, a[i] == b[j] { ops.append((.same, a[i])); i += 1; j += 1 }
            else if i < n, j == m || dp[i + 1][j] >= dp[i][j + 1] { ops.append((.removed, a[i])); i += 1 }
            else { ops.append((.added, b[j])); j += 1 }
        }
        return ops
    }
}
