using System.Security.Claims;
using System.Text.Json;
using Dapper;
using Foresight.Core.Insights;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Insights;

public sealed record ArgumentView(int Id, int Size, IReadOnlyList<LabelTerm> LabelTerms, IReadOnlyList<string> Quotes);

/// <summary>An argument the coordinator put into the next round's feedback: its label terms, anonymous quotes and how many rationales made it.</summary>
public sealed record ChosenArgument(IReadOnlyList<string> Labels, IReadOnlyList<string> Quotes, int Size);

public sealed record TopicArguments(string Topic, LocalizedText Title, int Rationales, IReadOnlyList<ArgumentView> Clusters, int Unclustered,
    IReadOnlyList<ChosenArgument> Chosen);

public sealed record ChooseArguments(IReadOnlyList<int> Clusters) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Clusters is null) yield return "clusters must list the argument clusters to show (an empty list shows none)";
    }
}

/// <summary>
/// Between rounds: the rationales experts gave for each topic in the closed round, grouped into argument clusters
/// (<see cref="ArgumentClusters.Group"/>) with representative quotes, offered to the coordinator, who chooses which
/// of them the next round's feedback shows. The rationales carry no names, and their order depends only on their text.
/// </summary>
public static class Arguments
{
    /// <summary>A closed round whose next round has not opened: its feedback can still be chosen.</summary>
    internal static async Task<(RoundRow? Round, Refusal? Error)> BetweenAsync(SqliteConnection c, SurveyRef survey, int number, bool choosing)
    {
        var round = await RoundStore.RoundAsync(c, survey.Id, number);
        if (round is null) return (null, Refusal.NotFound($"Survey '{survey.Slug}' has no round {number}."));
        if (round.IsOpen) return (null, Refusal.Conflict($"Round {number} is open; its arguments are grouped once it has closed."));
        if (choosing && await RoundStore.RoundAsync(c, survey.Id, number + 1) is not null)
            return (null, Refusal.Conflict($"Round {number + 1} has opened; the feedback it shows from round {number} is fixed."));
        return (round, null);
    }

    /// <summary>The texts experts gave for a topic: rationales of answers, and answers to text questions shown in feedback.</summary>
    static List<Rationale> Rationales(SurveyDefinition survey, IEnumerable<StoredAnswer> answers) =>
        Rounds.Rationales.Anonymous(answers.Select(a => Rounds.Rationales.ShownText(survey.Question(a.Question), a)))
            .Select((t, i) => new Rationale("r" + (i + 1), t)).ToList();

    static async Task<List<ChosenArgument>> ChosenAsync(SqliteConnection c, long roundId, long topicId) =>
        await c.ExecuteScalarAsync<string?>("SELECT arguments FROM argument_feedback WHERE round_id = @roundId AND topic_id = @topicId",
        new { roundId, topicId }) is { } json
            ? JsonSerializer.Deserialize<List<ChosenArgument>>(json, Json.Stored)! : [];

    /// <summary>What the next round shows of the arguments for a source topic of the previous round (none when none were chosen).</summary>
    public static Task<List<ChosenArgument>> FeedbackAsync(SqliteConnection c, long previousRoundId, long topicId) => ChosenAsync(c, previousRoundId, topicId);

    internal static async Task<TopicArguments> GroupAsync(SqliteConnection c, SurveyDefinition survey, RoundRow round, RoundTopicRow topic)
    {
        var rationales = Rationales(survey, await RoundStore.AnswersAsync(c, round.Id, topic: topic.Code));
        var grouped = ArgumentClusters.Group(rationales);
        var text = rationales.ToDictionary(r => r.Id, r => r.Text);
        return new TopicArguments(topic.Code, new LocalizedText(topic.TitleZh, topic.TitleEn), rationales.Count,
            grouped.Clusters.Select(a => new ArgumentView(a.Id, a.MemberIds.Count, a.LabelTerms, a.Quotes.Select(q => q.Text).ToList())).ToList(),
            grouped.Unclustered.Count, await ChosenAsync(c, round.Id, topic.TopicId));
    }
}

/// <summary>The argument clusters of a closed round, and the coordinator's choice of those the next round shows.</summary>
public sealed class ArgumentsService(Db db, SurveyCatalog catalog, TimeProvider clock)
{
    /// <summary>Each topic's argument clusters (or one topic's), grouped afresh from the round's rationales.</summary>
    public async Task<Outcome<List<TopicArguments>>> ListAsync(SurveyRef survey, int round, string? topic)
    {
        await using var c = await db.OpenAsync();
        var (row, error) = await Arguments.BetweenAsync(c, survey, round, choosing: false);
        if (row is null) return error!;
        var definition = await catalog.DefinitionAsync(survey.Id);
        var topics = await RoundStore.TopicsAsync(c, row.Id);
        if (topic is not null && topics.All(t => t.Code != topic)) return Refusal.NotFound($"Round {round} did not ask topic '{topic}'.");
        var result = new List<TopicArguments>();
        foreach (var t in topics.Where(t => topic is null || t.Code == topic)) result.Add(await Arguments.GroupAsync(c, definition, row, t));
        return result;
    }

    /// <summary>Chooses the clusters the next round's feedback shows for a topic, until that round opens (an empty list shows none).</summary>
    public async Task<Outcome<TopicArguments>> ChooseAsync(SurveyRef survey, int round, string topic, ChooseArguments body, ClaimsPrincipal user)
    {
        var definition = await catalog.DefinitionAsync(survey.Id);
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var (row, error) = await Arguments.BetweenAsync(c, survey, round, choosing: true);
        if (row is null) return error!;
        var t = (await RoundStore.TopicsAsync(c, row.Id, tx)).FirstOrDefault(t => t.Code == topic);
        if (t is null) return Refusal.NotFound($"Round {round} did not ask topic '{topic}'.");
        var grouped = await Arguments.GroupAsync(c, definition, row, t);
        var unknown = body.Clusters.Where(id => grouped.Clusters.All(a => a.Id != id)).ToList();
        if (unknown.Count > 0)
            return Refusal.BadRequest($"Topic '{topic}' has no argument cluster {string.Join(", ", unknown)}; it has {grouped.Clusters.Count} (ids " +
                $"{string.Join(", ", grouped.Clusters.Select(a => a.Id))}).");
        var chosen = body.Clusters.Distinct().Select(id => grouped.Clusters.First(a => a.Id == id))
            .Select(a => new ChosenArgument(a.LabelTerms.Select(l => l.Display).ToList(), a.Quotes, a.Size)).ToList();
        if (chosen.Count == 0)
            await c.ExecuteAsync("DELETE FROM argument_feedback WHERE round_id = @Id AND topic_id = @TopicId", new { row.Id, t.TopicId }, tx);
        else
            await c.ExecuteAsync("""
                INSERT INTO argument_feedback (round_id, topic_id, arguments, chosen_at, chosen_by) VALUES (@Id, @TopicId, @json, @now, @userId)
                ON CONFLICT (round_id, topic_id) DO UPDATE SET arguments = excluded.arguments, chosen_at = excluded.chosen_at, chosen_by = excluded.chosen_by
                """, new { row.Id, t.TopicId, json = JsonSerializer.Serialize(chosen, Json.Stored), now = Db.Iso(clock.GetUtcNow()), userId = user.UserId() },
                tx);
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "insights.arguments.chosen", new { round, topic, clusters = body.Clusters });
        await tx.CommitAsync();
        return grouped with { Chosen = chosen };
    }
}
