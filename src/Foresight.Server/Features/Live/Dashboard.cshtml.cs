using Foresight.Core;
using System.Text.Json;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Foresight.Server.Features.Live;

public sealed record DashboardTopic(string Code, string Field, LocalizedText Title);

/// <summary>
/// The coordinator's live dashboard: response progress per field and each topic's consensus, changing in place as
/// answers arrive through the live hub (@microsoft/signalr, from npm). The page is the frame; the script fills it.
/// </summary>
[Authorize(Policy = Policies.Coordinator)]
public sealed class DashboardPage(Db db, SurveyCatalog catalog, Ui ui) : PageModel
{
    public string Slug { get; private set; } = "";
    public LocalizedText Title { get; private set; } = new(null, null);
    public List<FieldRow> Fields { get; private set; } = [];
    public List<DashboardTopic> Topics { get; private set; } = [];
    public List<Question> Questions { get; private set; } = [];
    public string StringsJson { get; private set; } = "{}";

    public async Task<IActionResult> OnGetAsync(string survey)
    {
        var found = await SurveyRef.BindAsync(HttpContext);
        if (!found.Exists) return NotFound();
        if (!await SurveyAccessFilter.CoordinatesAsync(HttpContext, User, found.Id)) return Forbid();
        var definition = await catalog.DefinitionAsync(found.Id);
        Slug = found.Slug;
        Title = definition.Title;
        await using var c = await db.OpenAsync();
        Fields = (await SurveyStore.FieldsAsync(c, found.Id)).ToList();
        var round = await RoundStore.OpenRoundAsync(c, found.Id) ?? await RoundStore.LatestAsync(c, found.Id);
        var topics = round is null
            ? (await SurveyStore.TopicsAsync(c, found.Id)).Where(t => t.Status == TopicStatus.Active)
                .Select(t => new DashboardTopic(t.Code, t.FieldCode, t.Title))
            : (await RoundStore.TopicsAsync(c, round.Id)).Select(t => new DashboardTopic(t.Code, t.FieldCode, new LocalizedText(t.TitleZh, t.TitleEn)));
        Topics = topics.ToList();
        var judged = definition.Consensus.Criteria.Select(cr => cr.Question).ToHashSet();
        Questions = definition.Questions.Where(q => q.IsNumeric).OrderBy(q => judged.Contains(q.Id) ? 0 : 1).ToList();
        StringsJson = JsonSerializer.Serialize(UiStrings.All(ui.Lang).Where(kv => kv.Key.StartsWith("live.") || kv.Key.StartsWith("state.")
            || kv.Key.StartsWith("status."))
            .ToDictionary());
        return Page();
    }
}
