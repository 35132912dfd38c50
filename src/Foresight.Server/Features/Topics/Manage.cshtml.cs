using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Foresight.Server.Features.Topics;

/// <summary>
/// The topic list between rounds: the last closed round's result per topic with the stop rule's proposal and the
/// coordinator's decision (carry to the next round or retire), and rewording, merging, splitting, adding and
/// removing topics. While a round is open the list is read-only, as every expert must answer the same topics.
/// </summary>
public sealed class ManagePage(TopicsService topics, RoundService rounds) : ConsolePage
{
    public IReadOnlyList<FieldView> Fields { get; private set; } = [];
    public RoundRow? Latest { get; private set; }
    public Dictionary<string, TopicConsensus> Results { get; private set; } = [];
    public bool Editable => Latest is null || !Latest.IsOpen;

    protected override async Task LoadAsync()
    {
        Fields = await topics.ListAsync(Survey);
        await using var c = await Db.OpenAsync();
        Latest = await RoundStore.LatestAsync(c, Survey.Id);
        if (Latest is { IsOpen: false })
            Results = (await rounds.ConsensusViewAsync(c, Latest)).Topics.ToDictionary(t => t.Code);
    }

    static List<string>? Tags(string? text) => string.IsNullOrWhiteSpace(text) ? null
        : text.Split([',', ' ', '，'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

    public async Task<IActionResult> OnPostDecideAsync(string code, string? decision, string? note)
    {
        var body = new DecisionRequest(decision ?? "", string.IsNullOrWhiteSpace(note) ? null : note.Trim());
        return await ActAsync(body, async () => await rounds.DecideAsync(Survey, Latest?.Number ?? await LatestNumberAsync(), code, body, User),
            "done.decided");
    }

    async Task<int> LatestNumberAsync()
    {
        await using var c = await Db.OpenAsync();
        return (await RoundStore.LatestAsync(c, Survey.Id))?.Number ?? 0;
    }

    public async Task<IActionResult> OnPostChangeAsync(string code, string? field, string? tags, string? reason)
    {
        var body = new TopicChange(Text("title"), Text("background"), Tags(tags), string.IsNullOrWhiteSpace(field) ? null
            : field, string.IsNullOrWhiteSpace(reason) ? null : reason.Trim());
        return await ActAsync(body, () => topics.ChangeAsync(Survey, code, body, User), "done.topic.changed");
    }

    public async Task<IActionResult> OnPostAddAsync(string? code, string? field, string? tags)
    {
        var body = new NewTopic(code?.Trim() ?? "", field ?? "", Text("title") ?? new TextInput(null, null), Text("background"), Tags(tags), null);
        return await ActAsync(body, () => topics.AddAsync(Survey, body, User), "done.topic.added");
    }

    public async Task<IActionResult> OnPostMergeAsync(string? code, string? field, string? reason)
    {
        var body = new MergeRequest(Request.Form["topics"].Where(t => !string.IsNullOrEmpty(t)).Select(t => t!).ToList(), code?.Trim() ?? "",
            string.IsNullOrWhiteSpace(field) ? null : field, Text("title") ?? new TextInput(null, null), Text("background"), null, reason);
        return await ActAsync(body, () => topics.MergeAsync(Survey, body, User), "done.topic.merged");
    }

    public async Task<IActionResult> OnPostSplitAsync(string code, string? reason)
    {
        var parts = new List<SplitPart>();
        for (int i = 0; i < 4; i++)
        {
            var partCode = Request.Form[$"part{i}.code"].FirstOrDefault()?.Trim();
            var title = Text($"part{i}.title");
            if (string.IsNullOrEmpty(partCode) && title is null) continue;
            parts.Add(new SplitPart(partCode ?? "", title ?? new TextInput(null, null), null, null, null));
        }
        var body = new SplitRequest(parts, reason);
        return await ActAsync(body, () => topics.SplitAsync(Survey, code, body, User), "done.topic.split");
    }

    public async Task<IActionResult> OnPostRemoveAsync(string code) =>
        await ActAsync(null, () => topics.RemoveAsync(Survey, code, User), "done.topic.removed");
}
