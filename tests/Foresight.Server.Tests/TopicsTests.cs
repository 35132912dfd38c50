using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Foresight.Server.Tests;

public sealed class TopicsTests : IDisposable
{
    readonly ForesightFactory _app = new();
    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Reworded_merged_and_split_topics_keep_their_lineage_and_feedback()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 5);
        int[] importance = [2, 4, 5, 6, 7];
        for (int e = 0; e < 5; e++)
            foreach (var t in QuickStudy.Topics) await study.AnswerAsync(e, t, QuickStudy.Answer(importance[e]));
        await study.CloseAsync(1);
        const string S = QuickStudy.S;

        // Reword A-T01: same topic, new text, old text kept.
        var reworded = await Api.OkAsync(await study.Coordinator.PatchAsJsonAsync($"{S}/topics/A-T01", new
        {
            title = new { zh = "科学智能成为主流科研范式", en = "AI for research becomes mainstream" },
            reason = "Panel comments asked for a shorter statement.",
        }));
        Assert.Equal("AI for research becomes mainstream", reworded["title"]!["en"]!.GetValue<string>());
        var revisions = (await study.Coordinator.GetOkAsync($"{S}/topics/A-T01/revisions")).AsArray();
        Assert.Equal("AI for research becomes a mainstream paradigm in materials and life sciences", revisions.Single()!["title"]!["en"]!.GetValue<string>());
        Assert.Equal(1, revisions.Single()!["after_round"]!.GetValue<int>());
        var missing = await Api.ProblemAsync(await study.Coordinator.PatchAsJsonAsync($"{S}/topics/A-T02", new { title = new { en = "Only English" } }),
            HttpStatusCode.BadRequest);
        Assert.Contains("no zh-CN text", missing["detail"]!.GetValue<string>());

        // Merge Q-T01 and Q-T02; split A-T02.
        var merged = await Api.OkAsync(await study.Coordinator.PostAsJsonAsync($"{S}/topics/merge", new
        {
            topics = new[] { "Q-T01", "Q-T02" }, code = "Q-T10",
            title = new { zh = "量子计算与量子安全通信基础设施", en = "Quantum computing and quantum-safe communication infrastructure" },
        }));
        Assert.Equal(2, merged["parents"]!.AsArray().Count);
        var split = (await Api.OkAsync(await study.Coordinator.PostAsJsonAsync($"{S}/topics/A-T02/split", new
        {
            into = new[]
            {
                new { code = "A-T21", title = new { zh = "具身智能机器人用于制造", en = "Embodied-AI robots in manufacturing" } },
                new { code = "A-T22", title = new { zh = "具身智能机器人用于物流", en = "Embodied-AI robots in logistics" } },
            },
        }))).AsArray();
        Assert.Equal("split", split[0]!["parents"]![0]!["kind"]!.GetValue<string>());
        await Api.ProblemAsync(await study.Coordinator.PostAsJsonAsync($"{S}/topics/A-T02/split", new
        {
            into = new[] { new { code = "A-T31", title = new { zh = "一", en = "One" } }, new { code = "A-T32", title = new { zh = "二", en = "Two" } } },
        }), HttpStatusCode.Conflict);

        var structure = (await study.Coordinator.GetOkAsync($"{S}/topics")).AsArray().SelectMany(f => f!["topics"]!.AsArray())
            .ToDictionary(t => t!["code"]!.GetValue<string>(), t => t!["status"]!.GetValue<string>());
        Assert.Equal("merged", structure["Q-T01"]);
        Assert.Equal("split", structure["A-T02"]);
        Assert.Equal("active", structure["A-T21"]);

        var round2 = await study.OpenAsync();
        Assert.Equal(6, round2["topics"]!.GetValue<int>()); // Q-T03, A-T01, A-T03, Q-T10, A-T21, A-T22

        var expert = study.Experts[1];
        var rewordedSheet = await expert.GetOkAsync($"{S}/questionnaire/topics/A-T01");
        Assert.Equal("same", rewordedSheet["feedback"]!["sources"]![0]!["relation"]!.GetValue<string>());
        Assert.Equal("AI for research becomes mainstream", rewordedSheet["title"]!["en"]!.GetValue<string>());

        var mergedSheet = await expert.GetOkAsync($"{S}/questionnaire/topics/Q-T10");
        var sources = mergedSheet["feedback"]!["sources"]!.AsArray();
        Assert.Equal(["Q-T01", "Q-T02"], sources.Select(s => s!["topic"]!.GetValue<string>()));
        Assert.All(sources, s => Assert.Equal("merged_from", s!["relation"]!.GetValue<string>()));
        Assert.All(sources, s => Assert.Equal(4.0, Importance(s!)["your_answer"]!["value"]!.GetValue<double>()));

        var childSheet = await expert.GetOkAsync($"{S}/questionnaire/topics/A-T22");
        var parent = childSheet["feedback"]!["sources"]!.AsArray().Single()!;
        Assert.Equal("A-T02", parent["topic"]!.GetValue<string>());
        Assert.Equal("split_from", parent["relation"]!.GetValue<string>());
        Assert.Equal(5.0, Importance(parent)["median"]!.GetValue<double>());

        // The rationale rule follows the lineage of a split topic (one predecessor), not of a merged one.
        var outside = await Api.ProblemAsync(await expert.PutAsJsonAsync($"{S}/questionnaire/topics/A-T22", QuickStudy.Answer(1)), HttpStatusCode.BadRequest);
        Assert.Contains("outside the previous round's interquartile range (4 to 6)", outside["detail"]!.GetValue<string>());
        await study.AnswerAsync(1, "Q-T10", QuickStudy.Answer(1));

        // Stability is measured for the split child against its parent; a merged topic has no single predecessor.
        for (int e = 0; e < 5; e++)
            foreach (var t in new[] { "A-T22", "A-T01" }) await study.AnswerAsync(e, t, QuickStudy.Answer(importance[e], rationale: "same as before"));
        var live = await study.Coordinator.GetOkAsync($"{S}/rounds/2/consensus");
        JsonNode Topic(string code) => live["topics"]!.AsArray().Single(t => t!["code"]!.GetValue<string>() == code)!;
        Assert.Equal(5, Imp(Topic("A-T22"))["stability"]!["n_pairs"]!.GetValue<int>());
        Assert.Equal(0.0, Imp(Topic("A-T22"))["stability"]!["pct_changed"]!.GetValue<double>());
        Assert.Null(Imp(Topic("Q-T10"))["stability"]);
    }

    static JsonNode Importance(JsonNode source) => source["questions"]!.AsArray().Single(q => q!["question"]!.GetValue<string>() == "importance")!;
    static JsonNode Imp(JsonNode topic) => topic["questions"]!.AsArray().Single(q => q!["question"]!.GetValue<string>() == "importance")!;

    [Fact]
    public async Task Topics_can_be_added_and_removed_before_round_1()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 1, open: false);
        var added = await Api.OkAsync(await study.Coordinator.PostAsJsonAsync($"{QuickStudy.S}/topics", new
        {
            code = "A-T04", field = "A", title = new { zh = "大模型推理成本降低十倍", en = "Large-model inference becomes ten times cheaper" },
            tags = new[] { "FRONTIER" },
        }));
        Assert.Equal("A", added["field"]!.GetValue<string>());
        await Api.ProblemAsync(await study.Coordinator.PostAsJsonAsync($"{QuickStudy.S}/topics",
            new { code = "A-T04", field = "A", title = new { zh = "重复", en = "Again" } }), HttpStatusCode.Conflict);
        await Api.ProblemAsync(await study.Coordinator.PostAsJsonAsync($"{QuickStudy.S}/topics",
            new { code = "bad code", field = "A", title = new { zh = "坏", en = "Bad" } }), HttpStatusCode.BadRequest);
        Assert.Equal(HttpStatusCode.NoContent, (await study.Coordinator.DeleteAsync($"{QuickStudy.S}/topics/A-T03")).StatusCode);
        var round = await study.OpenAsync();
        Assert.Equal(6, round["topics"]!.GetValue<int>());
    }
}
