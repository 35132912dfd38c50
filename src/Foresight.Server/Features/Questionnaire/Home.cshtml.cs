using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Foresight.Server.Features.Questionnaire;

/// <summary>The expert's start page: the round and its deadline, progress, the profile, the topics by field and the rankings.</summary>
public sealed class HomePage(Db db, SurveyCatalog catalog, Ui ui) : ExpertPage(db, catalog, ui)
{
    public QuestionnaireView View { get; private set; } = null!;

    public IEnumerable<TopicEntry> Topics => View.Fields.SelectMany(f => f.Topics);

    /// <summary>Where "continue" goes: the first topic not finished.</summary>
    public TopicEntry? NextTopic => Topics.FirstOrDefault(t => !t.Complete);

    public bool ProfileMissing => View.Profile.Any(p => !View.ProfileAnswers.ContainsKey(p.Id));

    public bool Open => View.Round is { Status: "open" } r && (r.Deadline is null || string.CompareOrdinal(r.Deadline, Db.Iso(DateTimeOffset.UtcNow)) > 0);

    public async Task OnGetAsync()
    {
        View = (await QuestionnaireEndpoints.Get(Survey, User, Db, Service<SurveyCatalog>())).Value!;
    }
}
