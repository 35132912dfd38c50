using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;

namespace Foresight.Server.Features.Questionnaire;

/// <summary>The expert's start page: the round and its deadline, progress, the profile, the topics by field and the rankings.</summary>
public sealed class HomePage(Db db, SurveyCatalog catalog, Ui ui, QuestionnaireService questionnaire) : ExpertPage(db, catalog, ui, questionnaire)
{
    public QuestionnaireView View { get; private set; } = null!;

    public IEnumerable<TopicEntry> Topics => View.Fields.SelectMany(f => f.Topics);

    /// <summary>Where "continue" goes: the first topic not finished.</summary>
    public TopicEntry? NextTopic => Topics.FirstOrDefault(t => !t.Complete);

    public bool ProfileMissing => View.Profile.Any(p => !View.ProfileAnswers.ContainsKey(p.Id));

    public async Task OnGetAsync()
    {
        View = await Questionnaire.GetAsync(Survey, User);
        await LoadWindowAsync();
    }
}
