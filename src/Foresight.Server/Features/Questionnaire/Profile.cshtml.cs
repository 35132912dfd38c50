using Foresight.Core.Surveys;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Mvc;

namespace Foresight.Server.Features.Questionnaire;

/// <summary>The expert's profile (organisation type, region ...): the groups of the feedback and the report's panel composition.</summary>
public sealed class ProfilePage(Db db, SurveyCatalog catalog, Ui ui, QuestionnaireService questionnaire) : ExpertPage(db, catalog, ui, questionnaire)
{
    public IReadOnlyList<ProfileQuestion> Questions => Definition.Profile;
    public Dictionary<string, string> Answers { get; private set; } = [];
    public List<string> Missing { get; } = [];
    public string? Error { get; private set; }

    public async Task OnGetAsync()
    {
        Answers = await LoadAsync();
        await LoadWindowAsync();
    }

    async Task<Dictionary<string, string>> LoadAsync() =>
        (await Questionnaire.GetAsync(Survey, User)).ProfileAnswers.ToDictionary();

    public async Task<IActionResult> OnPostAsync()
    {
        await LoadWindowAsync();
        Answers = Questions.Select(q => (q.Id, Value: Request.Form[$"p.{q.Id}"].FirstOrDefault()))
            .Where(x => !string.IsNullOrEmpty(x.Value)).ToDictionary(x => x.Id, x => x.Value!);
        Missing.AddRange(Questions.Where(q => q.Required && !Answers.ContainsKey(q.Id)).Select(q => q.Id));
        if (Missing.Count > 0 || Answers.Count == 0)
        {
            Error = Ui.T("q.profile.missing");
            Response.StatusCode = 400;
            return Page();
        }
        var outcome = await Questionnaire.SaveProfileAsync(Survey, new ProfileRequest(Answers), User);
        if (outcome is SaveOutcome.ProfileSaved) return Redirect($"/survey/{Survey.Slug}");
        Error = Refusal(outcome) ?? Ui.T("q.profile.invalid");
        Response.StatusCode = outcome is SaveOutcome.Closed ? 409 : 400;
        return Page();
    }
}
