using System.Text;
using System.Text.Json.Nodes;
using Foresight.Cli;

namespace Foresight.Core.Tests.Cli;

public sealed class StatsCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("foresight-cli").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    async Task<(int Code, string Out, string Err)> RunAsync(string csv, params string[] options)
    {
        var path = Path.Combine(_dir, $"{Guid.NewGuid():n}.csv");
        await File.WriteAllTextAsync(path, csv);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await CliApp.RunAsync(["stats", path, .. options], stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    static string Rows(int round, string item, double?[] values, double?[]? fam = null, string prefix = "e")
    {
        var sb = new StringBuilder();
        for (int i = 0; i < values.Length; i++)
            sb.Append($"{round},{item},{prefix}{i + 1},{fam?[i]},{values[i]?.ToString(System.Globalization.CultureInfo.InvariantCulture)}\n");
        return sb.ToString();
    }

    const string Header = "round,item_id,expert_id,familiarity,answer\n";

    [Fact]
    public async Task Prints_every_figure_with_nulls_for_the_undefined()
    {
        var csv = Header + Rows(1, "F1-T01.importance", [1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5], [4, 3, 2, 1, 4, 3, 2, 1, 4, 3, 2])
            + "1,F1-T01.importance,e12,,\n1,F1-T01.importance,e13,,dont_know\n1,F1-T02.importance,e1,3,4\n";
        var (code, output, err) = await RunAsync(csv, "--min", "1", "--max", "5", "--agree", "4,5");
        Assert.True(code == 0, err);
        var json = JsonNode.Parse(output)!;
        var item = json["items"]![0]!;
        Assert.Equal("F1-T01.importance", item["item_id"]!.GetValue<string>());
        Assert.Equal(11, item["n"]!.GetValue<int>());
        Assert.Equal(1, item["n_skip"]!.GetValue<int>());
        Assert.Equal(1, item["n_dont_know"]!.GetValue<int>());
        Assert.Equal(3.0, item["median"]!.GetValue<double>());
        Assert.Equal(2.5, item["q1"]!.GetValue<double>());
        Assert.Equal(4.5, item["q3"]!.GetValue<double>());
        Assert.Equal(1.3618169680781094, item["sd"]!.GetValue<double>(), 12);       // R: sd(x)
        Assert.Equal(45.454545454545453, item["pct_agree"]!.GetValue<double>(), 12); // R: mean(x %in% c(4,5))*100
        Assert.Equal(56.896551724137929, item["importance_index_famw"]!.GetValue<double>(), 12);
        Assert.Equal(54.166666666666664, item["importance_index_fam_ge3"]!.GetValue<double>(), 12);
        foreach (var key in new[] { "round", "item_id", "n", "n_skip", "n_dont_know", "n_never", "median", "q1", "q3", "iqr", "mean", "sd", "cv", "min", "max",
                                     "pct_agree", "pct_never", "importance_index", "importance_index_famw", "importance_index_fam_ge3" })
            Assert.True(item.AsObject().ContainsKey(key), key);

        var single = json["items"]![1]!;
        Assert.Equal(1, single["n"]!.GetValue<int>());
        Assert.Null(single["sd"]);
        Assert.Null(single["cv"]);
        Assert.Empty(json["stability"]!.AsArray());
        Assert.Empty(json["kendall"]!.AsArray());
    }

    [Fact]
    public async Task Rand9_items_get_the_rand_ucla_figures()
    {
        var csv = Header + Rows(1, "A.appropriate", [4, 5, 6, 7, 7, 7, 7, 7, 8, 8, 8, 8, 8, 9, 9]);
        var (code, output, _) = await RunAsync(csv, "--kind", "rand9");
        Assert.Equal(0, code);
        var item = JsonNode.Parse(output)!["items"]![0]!;
        Assert.Equal(7.0, item["p30"]!.GetValue<double>());
        Assert.Equal(8.0, item["p70"]!.GetValue<double>());
        Assert.Equal(6.1, item["ipras"]!.GetValue<double>(), 12);
        Assert.False(item["disagreement"]!.GetValue<bool>());
        Assert.Equal("appropriate", item["rand_class"]!.GetValue<string>());
        Assert.Equal(77.5, item["importance_index"]!.GetValue<double>(), 12); // 100 * (mean 7.2 - 1) / 8: the scale is 1-9 by definition
    }

    [Fact]
    public async Task Years_exclude_never_and_stability_follows_R()
    {
        double?[] r1 = [3, 4, 2, 5, 4, 3, 2, 4, 5, 1, 3, 4];
        double?[] r2 = [4, 4, 3, 5, 5, 4, 2, 5, 4, 2, 4, 5];
        var csv = Header + Rows(1, "T.x", r1) + Rows(2, "T.x", r2);
        var (code, output, _) = await RunAsync(csv);
        Assert.Equal(0, code);
        var json = JsonNode.Parse(output)!;
        var s = json["stability"]!.AsArray().Single()!;
        Assert.Equal("T.x", s["item_id"]!.GetValue<string>());
        Assert.Equal(12, s["n_pairs"]!.GetValue<int>());
        Assert.Equal(75.0, s["pct_changed"]!.GetValue<double>());
        Assert.Equal(40.0, s["wilcoxon_v"]!.GetValue<double>());                          // R: wilcox.test(r2, r1, paired=TRUE, exact=FALSE, correct=TRUE)
        Assert.Equal(0.023410596161116702, s["wilcoxon_p"]!.GetValue<double>(), 12);

        const string yearRows = "1,T.year,a,,2030\n1,T.year,b,,2040\n1,T.year,c,,never\n";
        var (likertCode, _, likertErr) = await RunAsync(Header + yearRows);
        Assert.Equal(2, likertCode);
        Assert.Contains("line 4: 'never' is an answer to year questions", likertErr);
        var (_, years, _) = await RunAsync(Header + yearRows, "--kind", "year");
        var y = JsonNode.Parse(years)!["items"]![0]!;
        Assert.Equal(2, y["n"]!.GetValue<int>());
        Assert.Equal(1, y["n_never"]!.GetValue<int>());
        Assert.Equal(2035.0, y["median"]!.GetValue<double>());
        Assert.Equal(100.0 / 3, y["pct_never"]!.GetValue<double>(), 12);
    }

    [Fact]
    public async Task Rank_items_give_Kendalls_W_per_round_and_list_incomplete_rankings()
    {
        // m <- rbind(c(1,2,2,4,5), c(2,1,3,3,3), c(1,3,2,4,5)) -> W 0.793939393939393945, p 0.049189859965287581
        int[][] m = [[1, 2, 2, 4, 5], [2, 1, 3, 3, 3], [1, 3, 2, 4, 5]];
        var sb = new StringBuilder(Header);
        for (int e = 0; e < 3; e++)
            for (int t = 0; t < 5; t++) sb.Append($"1,T{t}.priority,e{e},,{m[e][t]}\n");
        sb.Append("1,T0.priority,late,,1\n1,T1.priority,late,,2\n");
        var (code, output, err) = await RunAsync(sb.ToString(), "--kind", "rank");
        Assert.True(code == 0, err);
        var k = JsonNode.Parse(output)!["kendall"]!.AsArray().Single()!;
        Assert.Equal(5, k["n_items"]!.GetValue<int>());
        Assert.Equal(3, k["n_experts"]!.GetValue<int>());
        Assert.Equal(0.793939393939393945, k["w"]!.GetValue<double>(), 12);
        Assert.Equal(9.527272727272727337, k["chi2"]!.GetValue<double>(), 12);
        Assert.Equal(4, k["df"]!.GetValue<int>());
        Assert.Equal(0.049189859965287581, k["p"]!.GetValue<double>(), 12);
        Assert.Equal(["late"], k["experts_dropped"]!.AsArray().Select(x => x!.GetValue<string>()));
    }

    [Fact]
    public async Task Rank_groups_get_one_W_each()
    {
        var sb = new StringBuilder("round,item_id,expert_id,familiarity,answer,kind,scale_min,scale_max,agree,familiarity_weight,rank_group\n");
        foreach (var (field, experts) in new[] { ("F1", new[] { "a", "b" }), ("F2", new[] { "c", "d", "e" }) })
            foreach (var e in experts)
                for (int t = 1; t <= 3; t++) sb.Append($"1,{field}-T{t}.priority,{e},,{t},rank,,,,,priority:{field}\n");
        var (code, output, err) = await RunAsync(sb.ToString());
        Assert.True(code == 0, err);
        var k = JsonNode.Parse(output)!["kendall"]!.AsArray();
        Assert.Equal(["priority:F1", "priority:F2"], k.Select(x => x!["group"]!.GetValue<string>()));
        Assert.Equal([2, 3], k.Select(x => x!["n_experts"]!.GetValue<int>()));
        Assert.All(k, x => Assert.Equal(1.0, x!["w"]!.GetValue<double>()));
        Assert.All(k, x => Assert.Empty(x!["experts_dropped"]!.AsArray()));
    }

    [Theory]
    [InlineData("round,item,expert_id,familiarity,answer\n1,a,e,,3\n", "line 1: the header must start with round,item_id,expert_id,familiarity,answer")]
    [InlineData(Header + "1,a,e1,,3\n1,a,e2,,three\n", "line 3: answer 'three' is not a number, dont_know, never or empty")]
    [InlineData(Header + "1,a,e1,,3\nx,a,e2,,3\n", "line 3: round 'x' is not a round number")]
    [InlineData(Header + "1,a,e1,,3\n1,a,e1,,4\n", "line 3: expert 'e1' already answered item 'a' in round 1 (line 2)")]
    [InlineData(Header + "1,a,e1,,\"3\n", "line 2: a quoted field is not closed")]
    [InlineData(Header + "1,a,e1\n", "line 2: the row has 3 columns")]
    [InlineData(Header + "1,a,e1,,12\n", "line 2: answer 12 is outside the RAND/UCLA scale 1-9")]
    public async Task A_bad_file_exits_2_with_the_line_and_the_reason(string csv, string message)
    {
        var options = message.Contains("RAND") ? new[] { "--kind", "rand9" } : [];
        var (code, output, err) = await RunAsync(csv, options);
        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Contains(message, err);
    }

    [Fact]
    public async Task Bad_options_exit_2()
    {
        var (code, _, err) = await RunAsync(Header + "1,a,e,,3\n", "--kind", "likrt");
        Assert.Equal(2, code);
        Assert.Contains("--kind must be likert, rand9, year or rank", err);
        (code, _, err) = await RunAsync(Header, "--agree", "6;x");
        Assert.Equal(2, code);
        Assert.Contains("--agree", err);
        var stderr = new StringWriter();
        Assert.Equal(2, await CliApp.RunAsync(["stats", Path.Combine(_dir, "missing.csv")], new StringWriter(), stderr));
        Assert.Contains("no such file", stderr.ToString());
    }

    [Fact]
    public async Task Validate_reports_survey_errors_with_positions()
    {
        var path = Path.Combine(_dir, "s.yaml");
        await File.WriteAllTextAsync(path, "id: x\ntitle: {zh-CN: a, en: b}\n");
        var stderr = new StringWriter();
        Assert.Equal(2, await CliApp.RunAsync(["validate", path], new StringWriter(), stderr));
        Assert.Contains($"{path}:1:1: the survey file is missing 'questions'", stderr.ToString());
        Assert.Contains("survey id 'x' must be 2-64", stderr.ToString());
        var stdout = new StringWriter();
        Assert.Equal(0, await CliApp.RunAsync(["validate", "surveys/quick-start.yaml"], stdout, new StringWriter()));
        Assert.Contains("6 topics", stdout.ToString());
    }
}
