using Xunit;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Foresight.Testing;

/// <summary>The quick-start survey imported by a coordinator, with a panel of experts answering both fields.</summary>
public sealed class QuickStudy
{
    public const string S = "/api/surveys/quick-start";
    public static readonly string[] Topics = ["Q-T01", "Q-T02", "Q-T03", "A-T01", "A-T02", "A-T03"];

    public required ForesightFactory App { get; init; }
    public required HttpClient Coordinator { get; init; }
    public required List<HttpClient> Experts { get; init; }
    public required List<string> Secrets { get; init; }
    public required List<long> Members { get; init; }
    public required List<string> Pseudonyms { get; init; }

    /// <param name="orgTypes">org_type of each expert in the pool (cycled)</param>
    public static async Task<QuickStudy> CreateAsync(ForesightFactory app, int experts = 6, bool open = true, string yaml = "", string[]? orgTypes = null)
    {
        var coordinator = await app.NewCoordinatorAsync();
        await Api.OkAsync(await coordinator.PostYamlAsync("/api/surveys", yaml.Length > 0 ? yaml : Api.Survey("quick-start.yaml")));
        var ids = new List<long>();
        for (int e = 0; e < experts; e++)
        {
            var expert = await Api.OkAsync(await coordinator.PostAsJsonAsync("/api/experts", new
            {
                name = $"Quick Expert {e}", email = $"quick{e}@test.local", organisation = $"Institute {e}",
                org_type = orgTypes is null ? "UNI" : orgTypes[e % orgTypes.Length], region = "CN_EAST", expertise = new[] { "Q", "A" },
            }));
            ids.Add(expert["id"]!.GetValue<long>());
        }
        var invitations = (await Api.OkAsync(await coordinator.PostAsJsonAsync($"{S}/panel",
            new { members = ids.Select(id => new { expert_id = id }) }))).AsArray();
        if (open) await Api.OkAsync(await coordinator.PostAsJsonAsync($"{S}/rounds", new { }));
        var secrets = invitations.Select(i => i!["secret"]!.GetValue<string>()).ToList();
        return new QuickStudy
        {
            App = app,
            Coordinator = coordinator,
            Experts = secrets.Select(app.WithToken).ToList(),
            Secrets = secrets,
            Members = invitations.Select(i => i!["member_id"]!.GetValue<long>()).ToList(),
            Pseudonyms = invitations.Select(i => i!["pseudonym"]!.GetValue<string>()).ToList(),
        };
    }

    /// <summary>A complete answer to a quick-start topic; with a rationale for every numeric answer when one is given.</summary>
    public static object Answer(int importance, int year = 2035, int familiarity = 3, int feasibility = 7, string? rationale = null) => new
    {
        answers = new Dictionary<string, object>
        {
            ["familiarity"] = familiarity, ["importance"] = importance, ["feasibility"] = feasibility, ["realization_year"] = year,
        },
        rationales = rationale is null ? new Dictionary<string, string>() : new Dictionary<string, string>
        {
            ["importance"] = rationale, ["realization_year"] = rationale,
        },
    };

    public async Task<JsonNode> AnswerAsync(int expert, string topic, object body) =>
        await Api.OkAsync(await Experts[expert].PutAsJsonAsync($"{S}/questionnaire/topics/{topic}", body));

    public async Task<JsonNode> CloseAsync(int round) => await Api.OkAsync(await Coordinator.PostAsync($"{S}/rounds/{round}/close", null));

    public async Task<JsonNode> OpenAsync() => await Api.OkAsync(await Coordinator.PostAsJsonAsync($"{S}/rounds", new { }));

    /// <summary>
    /// Sets the round's deadline two seconds ahead of now, for a test of what happens at it. Should the request take
    /// longer than that on a busy machine, the server refuses a deadline in the past: then again with a longer lead.
    /// </summary>
    /// <returns>the deadline set</returns>
    public async Task<DateTimeOffset> DeadlineSoonAsync(int round = 1)
    {
        for (var lead = TimeSpan.FromSeconds(2); ; lead *= 2)
        {
            var deadline = DateTimeOffset.UtcNow + lead;
            var response = await Coordinator.PutAsJsonAsync($"{S}/rounds/{round}/deadline", new { deadline });
            if (response.IsSuccessStatusCode) return deadline;
            var problem = await Api.ProblemAsync(response, System.Net.HttpStatusCode.BadRequest);
            Assert.Contains("in the past", problem["detail"]!.GetValue<string>());
            Assert.True(lead < Wait.Guard, $"a deadline {lead.TotalSeconds:0} s ahead was in the past when the server read it");
        }
    }
}
