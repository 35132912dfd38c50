using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;

namespace Foresight.Server.Features.Questionnaire;

/// <summary>A ranking (e.g. the field's topics by priority) as a form: a rank beside each topic, no script needed.</summary>
[EnableRateLimiting(RateLimits.Answers)]
public sealed class RankingPage(Db db, SurveyCatalog catalog, Ui ui, QuestionnaireService questionnaire) : ExpertPage(db, catalog, ui, questionnaire)
{
    public QuestionnaireView Overview { get; private set; } = null!;
    public RankingView Ranking { get; private set; } = null!;
    public Dictionary<string, int> Ranks { get; private set; } = [];
    public string? Error { get; private set; }

    public Foresight.Core.Surveys.LocalizedText TitleOf(string code) =>
        Overview.Fields.SelectMany(f => f.Topics).First(t => t.Code == code).Title;

    async Task<bool> LoadAsync(string ranking, string? field)
    {
        Overview = await Questionnaire.GetAsync(Survey, User);
        await LoadWindowAsync();
        var found = Overview.Rankings.FirstOrDefault(r => r.Id == ranking && (field is null || r.Field == field));
        if (found is null) return false;
        Ranking = found;
        Ranks = (found.YourOrder ?? []).Select((code, i) => (code, i)).ToDictionary(x => x.code, x => x.i + 1);
        return true;
    }

    public async Task<IActionResult> OnGetAsync(string ranking, string? field) =>
        await LoadAsync(ranking, field) ? Page() : NotFound();

    public async Task<IActionResult> OnPostAsync(string ranking, string? field)
    {
        if (!await LoadAsync(ranking, field)) return NotFound();
        Ranks = Ranking.Topics.Select(code => (code, rank: int.TryParse(Request.Form[$"rank.{code}"], out var r) ? r : 0))
            .Where(x => x.rank > 0).ToDictionary(x => x.code, x => x.rank);
        var twice = Ranks.GroupBy(x => x.Value).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (Ranks.Count == 0) Error = Ui.T("q.rank.none");
        else if (twice.Count > 0) Error = Ui.T("q.rank.twice", string.Join(", ", twice));
        else
        {
            var order = Ranks.OrderBy(x => x.Value).Select(x => x.Key).ToList();
            var (outcome, _) = await Questionnaire.RankAsync(Survey, ranking, new RankingRequest(Ranking.Field, order), User);
            if (outcome is SaveOutcome.Ranked) return Redirect($"/survey/{Survey.Slug}");
            Error = Refusal(outcome);
            Response.StatusCode = outcome is SaveOutcome.Closed ? 409 : 400;
            return Page();
        }
        Response.StatusCode = 400;
        return Page();
    }
}
