using System.Globalization;
using Dapper;
using Foresight.Core.Answers;
using Foresight.Core.Consensus;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Rounds;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Live;

/// <summary>
/// The open round of one survey, in memory: every expert's current answers per topic, kept in step with the
/// store by answer events. A change marks its topic dirty; a topic's aggregate is recomputed, through the
/// statistics library, only when it is dirty and someone asks, so one answer costs one topic, not the round.
/// </summary>
public sealed class LiveRound
{
    readonly object _gate = new();
    readonly SurveyDefinition _survey;
    readonly ConsensusRules _rules;
    readonly Dictionary<string, RoundTopic> _topics;
    readonly List<string> _order;
    readonly Dictionary<string, Dictionary<long, Dictionary<string, AnswerRow>>> _answers = new(StringComparer.Ordinal);
    readonly Dictionary<string, IReadOnlyList<AnswerRow>> _previous;
    readonly Dictionary<long, string> _pseudonyms;
    readonly Dictionary<long, HashSet<string>> _assigned;
    readonly Dictionary<long, HashSet<string>> _fieldsOf;
    readonly Dictionary<string, long> _versions = new(StringComparer.Ordinal);
    readonly Dictionary<string, (long Version, TopicResult Result)> _results = new(StringComparer.Ordinal);
    // Per expert: the topics they answered and those they finished, kept up to date so that progress costs
    // a pass over the experts, not over the answers.
    readonly Dictionary<long, HashSet<string>> _answeredBy = new();
    readonly Dictionary<long, HashSet<string>> _completeBy = new();
    long _submissions;
    long _version;

    public long SurveyId { get; }
    public int Number { get; }
    public string Status { get; private set; }
    public string? Deadline { get; private set; }

    LiveRound(long surveyId, RoundRow round, SurveyDefinition survey, ConsensusRules rules, List<RoundTopic> topics,
        Dictionary<string, IReadOnlyList<AnswerRow>> previous, Dictionary<long, string> pseudonyms,
        Dictionary<long, HashSet<string>> assigned, Dictionary<long, HashSet<string>> fieldsOf)
    {
        SurveyId = surveyId; Number = round.Number; Status = round.Status; Deadline = round.Deadline;
        _survey = survey; _rules = rules; _previous = previous; _pseudonyms = pseudonyms; _assigned = assigned; _fieldsOf = fieldsOf;
        _topics = topics.ToDictionary(t => t.Code, StringComparer.Ordinal);
        _order = topics.Select(t => t.Code).ToList();
        foreach (var t in _order) { _answers[t] = []; _versions[t] = 0; }
    }

    public SurveyDefinition Survey => _survey;
    public IReadOnlyList<string> TopicCodes => _order;
    public bool HasTopic(string code) => _topics.ContainsKey(code);

    public static async Task<LiveRound> LoadAsync(SqliteConnection c, RoundRow round, SurveyDefinition survey, ConsensusRules rules)
    {
        var topicRows = await RoundStore.TopicsAsync(c, round.Id);
        var topics = await RoundStore.WithPredecessorsAsync(c, round, topicRows);
        var previous = new Dictionary<string, IReadOnlyList<AnswerRow>>(StringComparer.Ordinal);
        if (round.Number > 1 && await RoundStore.RoundAsync(c, round.SurveyId, round.Number - 1) is { } before)
            foreach (var g in (await RoundStore.AnswersAsync(c, before.Id)).GroupBy(a => a.Topic))
                previous[g.Key] = g.Select(a => a.Row).ToList();
        var members = (await c.QueryAsync<(long Id, string Pseudonym)>("""
            SELECT m.id, m.pseudonym FROM round_members rm JOIN panel_members m ON m.id = rm.member_id WHERE rm.round_id = @Id
            """, new { round.Id })).ToDictionary(m => m.Id, m => m.Pseudonym);
        var assignments = await RoundsEndpoints.AssignmentsAsync(c, round, topicRows);
        var fields = (await c.QueryAsync<(long MemberId, string Code)>("""
            SELECT pf.member_id, f.code FROM panel_fields pf JOIN fields f ON f.id = pf.field_id
            JOIN round_members rm ON rm.member_id = pf.member_id AND rm.round_id = @Id
            """, new { round.Id })).GroupBy(x => x.MemberId).ToDictionary(g => g.Key, g => g.Select(x => x.Code).ToHashSet());
        var live = new LiveRound(round.SurveyId, round, survey, rules, topics, previous, members,
            members.Keys.ToDictionary(m => m, m => assignments[m].ToHashSet()), fields);
        foreach (var a in await RoundStore.AnswersAsync(c, round.Id))
            live.Put(a.MemberId, a.Pseudonym, a.Topic, a.Question, a.Row);
        foreach (var (topic, byMember) in live._answers)
            foreach (var member in byMember.Keys) live.Track(member, topic);
        return live;
    }

    /// <summary>Updates the expert's answered and complete sets for one topic (call under the lock).</summary>
    void Track(long member, string topic)
    {
        var rows = _answers[topic].GetValueOrDefault(member);
        var mine = rows?.Where(r => _survey.Question(r.Key) is not null)
            .ToDictionary(r => r.Key, r => new QuestionAnswer(AnswerValue.FromStored(r.Value.Value, r.Value.Number), r.Value.Rationale));
        if (!_answeredBy.TryGetValue(member, out var answered)) _answeredBy[member] = answered = new(StringComparer.Ordinal);
        if (!_completeBy.TryGetValue(member, out var complete)) _completeBy[member] = complete = new(StringComparer.Ordinal);
        if (mine is { Count: > 0 }) answered.Add(topic); else answered.Remove(topic);
        if (mine is { Count: > 0 } && TopicAnswers.IsComplete(_survey, Number, mine)) complete.Add(topic); else complete.Remove(topic);
    }

    readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);

    string Pooled(string s)
    {
        if (_strings.TryGetValue(s, out var pooled)) return pooled;
        _strings[s] = s;
        return s;
    }

    void Put(long member, string pseudonym, string topic, string question, AnswerRow row)
    {
        if (!_answers.TryGetValue(topic, out var byMember)) return;
        _pseudonyms.TryAdd(member, pseudonym);
        if (!byMember.TryGetValue(member, out var mine)) byMember[member] = mine = new(StringComparer.Ordinal);
        mine[question] = row;
    }

    /// <summary>Replaces one expert's answers to one topic with their state after a save (idempotent).</summary>
    public void Apply(long member, string pseudonym, string topic, IReadOnlyDictionary<string, QuestionAnswer> answers)
    {
        lock (_gate)
        {
            if (!_answers.TryGetValue(topic, out var byMember)) return;
            _pseudonyms.TryAdd(member, pseudonym);
            // Keep the member's ranking rows: a topic save sends only its questions.
            var kept = byMember.TryGetValue(member, out var old) ? old.Where(kv => _survey.Question(kv.Key) is null).ToList() : [];
            var next = new Dictionary<string, AnswerRow>(StringComparer.Ordinal);
            foreach (var (q, a) in answers)
            {
                // Question ids and short values repeat in every save: one string each, not one per answer kept.
                var question = Pooled(q);
                next[question] = new AnswerRow(pseudonym, topic, question, a.Value.Text.Length <= 16 ? Pooled(a.Value.Text) : a.Value.Text, a.Value.Number, a.Rationale);
            }
            foreach (var kv in kept) next[kv.Key] = kv.Value;
            if (next.Count == 0) byMember.Remove(member); else byMember[member] = next;
            Track(member, topic);
            _versions[topic] = ++_version;
            _submissions++;
        }
    }

    /// <summary>One expert's ranks after a ranking save: topic → rank, null where the rank was taken away.</summary>
    public void ApplyRanking(long member, string pseudonym, string ranking, IReadOnlyDictionary<string, double?> ranks)
    {
        lock (_gate)
        {
            _pseudonyms.TryAdd(member, pseudonym);
            foreach (var (topic, rank) in ranks)
            {
                if (!_answers.TryGetValue(topic, out var byMember)) continue;
                // A topic's answers are replaced, never changed in place, so a copy taken for a computation stays as it was.
                var next = byMember.TryGetValue(member, out var old) ? new Dictionary<string, AnswerRow>(old, StringComparer.Ordinal) : new(StringComparer.Ordinal);
                if (rank is { } r) next[ranking] = new AnswerRow(pseudonym, topic, ranking, ((int)r).ToString(CultureInfo.InvariantCulture), r);
                else next.Remove(ranking);
                if (next.Count == 0) byMember.Remove(member); else byMember[member] = next;
            }
        }
    }

    /// <summary>
    /// The whole round's consensus from the kept answers: topics whose answers did not change since they were last
    /// computed cost nothing, the others are computed on every core; then the rankings and the stop rule.
    /// </summary>
    public RoundResult Consensus()
    {
        var results = _order.AsParallel().AsOrdered().Select(Result).ToList();
        var rankings = _survey.Rankings.Where(r => r.AskedIn(Number)).Select(r => r.Id).ToList();
        var rankingRows = new Dictionary<string, List<AnswerRow>>(StringComparer.Ordinal);
        lock (_gate)
            foreach (var t in _order)
            {
                var rows = new List<AnswerRow>();
                foreach (var mine in _answers[t].Values)
                    foreach (var id in rankings)
                        if (mine.TryGetValue(id, out var row)) rows.Add(row);
                rankingRows[t] = rows;
            }
        return RoundConsensus.Assemble(_survey, _rules, Number, _order.Select(t => _topics[t]).ToList(), results, t => rankingRows[t]);
    }

    /// <summary>A panel member added while the round is open.</summary>
    public void AddMember(long member, string pseudonym, IEnumerable<string> fields)
    {
        lock (_gate)
        {
            _pseudonyms[member] = pseudonym;
            var fieldSet = fields.ToHashSet();
            _fieldsOf[member] = fieldSet;
            _assigned[member] = _order.Where(t => fieldSet.Contains(_topics[t].Field)).ToHashSet();
            foreach (var t in _order) if (_answers[t].ContainsKey(member)) Track(member, t);
            _version++;
        }
    }

    public void SetStatus(string status, string? deadline)
    {
        lock (_gate) { Status = status; Deadline = deadline; }
    }

    public long TopicVersion(string topic) { lock (_gate) return _versions.GetValueOrDefault(topic); }

    public long Version { get { lock (_gate) return _version; } }

    /// <summary>The topic's result now, computed by the statistics library when its answers changed since the last time.</summary>
    public TopicResult Result(string topic)
    {
        List<AnswerRow> rows;
        long version;
        lock (_gate)
        {
            version = _versions[topic];
            if (_results.TryGetValue(topic, out var cached) && cached.Version == version) return cached.Result;
            rows = _answers[topic].Values.SelectMany(m => m.Values).ToList();
        }
        var t = _topics[topic];
        IReadOnlyList<AnswerRow>? previous = t.PreviousCode is not null && Number > 1 ? _previous.GetValueOrDefault(t.PreviousCode) ?? [] : null;
        var result = RoundConsensus.ComputeTopic(_survey, _rules, Number, t, rows, previous);
        lock (_gate) _results[topic] = (version, result);
        return result;
    }

    /// <summary>Topics whose version is newer than the given ones (a stream's last sent versions).</summary>
    public List<(string Topic, long Version)> ChangedSince(IReadOnlyDictionary<string, long> sent)
    {
        lock (_gate)
            return _order.Where(t => _versions[t] > sent.GetValueOrDefault(t)).Select(t => (t, _versions[t])).ToList();
    }

    /// <summary>Whether the expert has answered the topic (for the Real-Time Delphi rule).</summary>
    public bool Answered(long member, string topic)
    {
        lock (_gate) return _answers.TryGetValue(topic, out var m) && m.TryGetValue(member, out var a) && a.Keys.Any(q => _survey.Question(q) is not null);
    }

    public IReadOnlyList<string> AnsweredTopics(long member)
    {
        lock (_gate) return _order.Where(t => _answers[t].TryGetValue(member, out var a) && a.Keys.Any(q => _survey.Question(q) is not null)).ToList();
    }

    public LiveProgress Progress()
    {
        lock (_gate)
        {
            int answered = 0, responded = 0, finished = 0;
            var fields = _order.Select(t => _topics[t].Field).Distinct().ToList();
            var topicsOfField = fields.ToDictionary(f => f, f => _order.Count(t => _topics[t].Field == f));
            var experts = fields.ToDictionary(f => f, _ => 0);
            var fieldResponded = fields.ToDictionary(f => f, _ => 0);
            var fieldFinished = fields.ToDictionary(f => f, _ => 0);
            var pairs = fields.ToDictionary(f => f, _ => 0);
            foreach (var (member, assigned) in _assigned)
            {
                var done = _answeredBy.GetValueOrDefault(member);
                var complete = _completeBy.GetValueOrDefault(member);
                int n = done?.Count ?? 0;
                answered += n;
                if (n > 0) responded++;
                if (assigned.Count > 0 && complete is not null && assigned.All(complete.Contains)) finished++;
                foreach (var field in _fieldsOf.GetValueOrDefault(member) ?? [])
                {
                    if (!experts.ContainsKey(field)) continue;
                    experts[field]++;
                    int inField = done?.Count(t => _topics[t].Field == field) ?? 0;
                    pairs[field] += inField;
                    if (inField > 0) fieldResponded[field]++;
                    if (complete is not null && complete.Count(t => _topics[t].Field == field) == topicsOfField[field]) fieldFinished[field]++;
                }
            }
            return new LiveProgress(answered, _submissions, _assigned.Count, responded, finished,
                fields.Select(f => new FieldLive(f, experts[f], fieldResponded[f], fieldFinished[f], pairs[f], experts[f] * topicsOfField[f])).ToList());
        }
    }

    public LiveRoundInfo Info() { lock (_gate) return new LiveRoundInfo(Number, Status, Deadline); }
}
