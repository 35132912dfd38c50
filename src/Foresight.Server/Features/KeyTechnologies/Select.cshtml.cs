using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Mvc;

namespace Foresight.Server.Features.KeyTechnologies;

/// <summary>
/// The key-technology selection (关键技术选择) after the last round: the topics ranked by importance index with and
/// without familiarity weighting; the coordinators tick the selected ones, state their criteria, and it is recorded.
/// </summary>
public sealed class SelectPage(KeyTechnologiesService keys) : ConsolePage
{
    public List<RankedTopic> Ranking { get; private set; } = [];
    public List<Selection> Selections { get; private set; } = [];

    protected override async Task LoadAsync()
    {
        Ranking = await keys.RankingAsync(Survey.Id);
        Selections = await keys.SelectionsAsync(Survey.Id);
    }

    public async Task<IActionResult> OnPostAsync(string? criteria)
    {
        var picked = Request.Form["topics"].Where(t => !string.IsNullOrEmpty(t)).Select(t => t!).ToList();
        var notes = picked.Select(t => (t, note: Request.Form[$"note.{t}"].FirstOrDefault()?.Trim()))
            .Where(x => !string.IsNullOrEmpty(x.note)).ToDictionary(x => x.t, x => x.note!);
        var body = new SelectionRequest(criteria?.Trim() ?? "", picked, notes.Count > 0 ? notes : null);
        return await ActAsync(body, () => keys.SelectAsync(Survey, body, User), "done.keytech");
    }
}
