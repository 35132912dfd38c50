using Foresight.Core.Answers;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Messages;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;

namespace Foresight.Server.Features.Questionnaire;

/// <summary>
/// One topic per page: its questions as a plain HTML form, last round's feedback beside each question, and the
/// topic's messages. Without JavaScript the form posts and the page comes back with the answers saved or the
/// problems marked; with it, each change is saved as it is made (the same handler, answering JSON).
/// </summary>
[EnableRateLimiting(RateLimits.Answers)]
public sealed class TopicPage(Db db, SurveyCatalog catalog, Ui ui, QuestionnaireService questionnaire, MessagesService topicMessages)
    : ExpertPage(db, catalog, ui, questionnaire)
{
    public QuestionnaireView Overview { get; private set; } = null!;
    public TopicSheet Sheet { get; private set; } = null!;
    /// <summary>The rules between the topic's answers: the form's and the script's (<see cref="RulesJson"/>), as the save checks them.</summary>
    public AnswerRules Rules { get; private set; } = null!;
    public List<Question> Questions { get; private set; } = [];
    public Dictionary<string, FormAnswer> Values { get; private set; } = [];
    public Dictionary<string, List<string>> Errors { get; } = [];
    public string? PageError { get; private set; }
    public List<MessageView> Messages { get; private set; } = [];
    public string? MessageError { get; private set; }
    public bool Saved { get; private set; }
    /// <summary>No answer in this round yet: the form starts from the expert's answers of the previous round, to keep or revise.</summary>
    public bool Prefilled { get; private set; }
    public int Index { get; private set; }
    public TopicEntry? Previous { get; private set; }
    public TopicEntry? Next { get; private set; }

    /// <summary>The strings the script shows, in the page's language.</summary>
    public string ScriptStrings => System.Text.Json.JsonSerializer.Serialize(UiStrings.All(Ui.Lang)
        .Where(kv => kv.Key.StartsWith("q.js.") || kv.Key == "q.progress").ToDictionary());

    /// <summary>The rules as the page's script reads them: data in an attribute of the form (the page's policy runs no inline script).</summary>
    public string RulesJson => Rules.ToJson();

    /// <summary>The feedback of a question from the previous round (one source topic), or each source's for a merged topic.</summary>
    public IEnumerable<(SourceFeedback Source, QuestionFeedback Question)> FeedbackFor(string question) =>
        Sheet.Feedback?.Sources.SelectMany(s => s.Questions.Where(q => q.Question == question).Select(q => (s, q))) ?? [];

    /// <summary>The topic is marked "not familiar" in the form as shown.</summary>
    public bool Skipped => Rules.Skips(id => Values.GetValueOrDefault(id)?.Value);

    async Task<bool> LoadAsync(string code, bool messages = true)
    {
        Overview = await Questionnaire.GetAsync(Survey, User);
        var (sheet, _) = await Questionnaire.TopicAsync(Survey, code, User);
        if (sheet is null) return false;
        Sheet = sheet;
        Rules = await Questionnaire.RulesAsync(Survey.Id, Sheet.Round.Number, code);
        await LoadWindowAsync();
        Questions = Sheet.Questions.Select(id => Definition.Question(id)!).ToList();
        Values = AnswerForm.FromStored(Sheet.Answers);
        if (Sheet.Answers.Count == 0 && Sheet.Feedback?.Sources is [{ Relation: "same" } same])
        {
            var earlier = same.Questions.Where(q => q.YourAnswer is not null && Sheet.Questions.Contains(q.Question))
                .ToDictionary(q => q.Question, q => new AnswerView(q.YourAnswer!.Value, q.YourAnswer.Rationale));
            Values = AnswerForm.FromStored(earlier);
            Prefilled = Values.Count > 0;
        }
        var order = Overview.Fields.SelectMany(f => f.Topics).ToList();
        Index = order.FindIndex(t => t.Code == code);
        Previous = Index > 0 ? order[Index - 1] : null;
        Next = Index >= 0 && Index + 1 < order.Count ? order[Index + 1] : null;
        if (messages && (await topicMessages.ListAsync(Survey, code, User)).Value is { } list) Messages = list;
        return true;
    }

    public async Task<IActionResult> OnGetAsync(string code, bool saved = false)
    {
        if (!await LoadAsync(code)) return NotFound();
        Saved = saved;
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(string code)
    {
        bool autosave = Request.Headers["X-Autosave"] == "1";
        // An autosave answers JSON only: the topic's messages are not needed.
        if (!await LoadAsync(code, messages: !autosave)) return NotFound();
        var form = await Request.ReadFormAsync();
        var request = AnswerForm.ToRequest(form, Rules, Questions, Sheet.Answers);
        bool anything = (request.Answers?.Count ?? 0) + (request.Rationales?.Count ?? 0) > 0;
        SaveOutcome? outcome = null;
        if (anything)
        {
            (outcome, _) = await Questionnaire.SaveTopicAsync(Survey, code, request, User);
            if (outcome is SaveOutcome.Invalid invalid)
                foreach (var e in invalid.Errors)
                    (Errors.TryGetValue(e.Question ?? "", out var list) ? list : Errors[e.Question ?? ""] = []).Add(Describe(e));
            else PageError = Refusal(outcome);
        }
        bool ok = PageError is null && Errors.Count == 0;
        if (autosave)
        {
            // Progress after the save follows from this topic's completeness before and after; no second read of the questionnaire.
            var complete = outcome is SaveOutcome.Saved s ? s.Complete : Sheet.Complete;
            var after = Overview.Progress with { Complete = Overview.Progress.Complete + (complete ? 1 : 0) - (Sheet.Complete ? 1 : 0) };
            return new JsonResult(new { saved = ok, complete, progress = after, error = PageError, errors = Errors }) { StatusCode = ok ? 200
                : PageError is null ? 400 : 409 };
        }
        if (ok)
        {
            string go = form["go"].FirstOrDefault() ?? "";
            return Redirect(go switch
            {
                "next" when Next is not null => $"/survey/{Survey.Slug}/topics/{Next.Code}",
                "next" or "home" => $"/survey/{Survey.Slug}",
                "previous" when Previous is not null => $"/survey/{Survey.Slug}/topics/{Previous.Code}",
                _ => $"/survey/{Survey.Slug}/topics/{code}?saved=true",
            });
        }
        Values = AnswerForm.FromPosted(form, Questions);
        Response.StatusCode = PageError is null ? 400 : 409;
        return Page();
    }

    public async Task<IActionResult> OnPostMessageAsync(string code, string? body)
    {
        if (!await LoadAsync(code)) return NotFound();
        var message = new PostMessage(body ?? "", null);
        var problems = message.Validate().ToList();
        if (problems.Count == 0 && (await topicMessages.PostAsync(Survey, code, message, User)).Refusal is { } p)
            problems.Add(p.Status == 409 ? ClosedText(Window, refused: true) : p.Detail);
        if (problems.Count == 0) return Redirect($"/survey/{Survey.Slug}/topics/{code}#messages");
        MessageError = problems[0];
        Response.StatusCode = 400;
        return Page();
    }

    /// <summary>A feedback group (an option of the profile question the feedback is split by) by its label.</summary>
    public string GroupName(string code) =>
        Definition.Profile.FirstOrDefault(p => p.Role == Definition.Feedback.ByGroup)?.Options.FirstOrDefault(o => o.Code == code) is { } o ? Ui.Text(o.Label)
        : code;

    /// <summary>A problem in the expert's language, next to its question.</summary>
    string Describe(AnswerError e)
    {
        var q = e.Question is null ? null : Definition.Question(e.Question);
        return e.Kind switch
        {
            AnswerErrorKind.RationaleNeeded => q?.Rationale == RationaleRule.Always ? Ui.T("q.err.rationale.always") : Ui.T("q.err.rationale"),
            AnswerErrorKind.Order when q?.NotBefore is { } other => Ui.T("q.err.order", Ui.Text(Definition.Question(other)!.Text)),
            AnswerErrorKind.Skipped => Ui.T("q.err.skipped"),
            AnswerErrorKind.Condition => Ui.T("q.err.condition"),
            AnswerErrorKind.Rationale => Ui.T("q.err.rationale.long", TopicAnswers.MaxRationaleLength),
            _ => Ui.T("q.err.value") + " " + e.Message,
        };
    }
}
