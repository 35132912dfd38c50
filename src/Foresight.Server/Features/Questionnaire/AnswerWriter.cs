using Foresight.Core;
using Foresight.Server.Features.Rounds;
using System.Text.Json;
using System.Threading.Channels;
using Foresight.Core.Answers;
using Foresight.Core.Statistics;
using Foresight.Core.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Questionnaire;

/// <summary>
/// One expert's write to their answer rows (a topic's answers, or a ranking across topics), checked for access before
/// it is queued; the writer checks the answer window again in its transaction.
/// </summary>
/// <param name="IdempotencyKey">the request's Idempotency-Key: a repeated request is answered with the first one's stored response</param>
/// <param name="BodyHash">what the request asked for, to tell a repeat from a different request with the same key</param>
public abstract record AnswerWrite(long SurveyId, long RoundId, int RoundNumber, long MemberId, string Pseudonym, string? IdempotencyKey, string? BodyHash)
{
    /// <summary>
    /// The endpoint's response to a successful save, needed with an Idempotency-Key: the writer calls it inside the
    /// save's transaction and stores its text with the save, so a replay answers exactly what the first request did.
    /// </summary>
    public Func<SaveOutcome, string>? Respond { get; init; }

    internal TaskCompletionSource<SaveOutcome> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>Answers to some questions of one topic.</summary>
public sealed record Submission(
    long SurveyId, long RoundId, int RoundNumber, long MemberId, string Pseudonym, string Topic, long TopicId,
    IReadOnlyDictionary<string, JsonElement> Answers, IReadOnlyDictionary<string, string?> Rationales, AnswerRules Rules,
    string? IdempotencyKey, string? BodyHash)
    : AnswerWrite(SurveyId, RoundId, RoundNumber, MemberId, Pseudonym, IdempotencyKey, BodyHash);

/// <summary>A ranking: the topics of its scope (code → topic id), ranked in <paramref name="Order"/>, the others unranked.</summary>
public sealed record RankingSubmission(
    long SurveyId, long RoundId, int RoundNumber, long MemberId, string Pseudonym, string Ranking,
    IReadOnlyDictionary<string, long> Scope, IReadOnlyList<string> Order, string? IdempotencyKey, string? BodyHash)
    : AnswerWrite(SurveyId, RoundId, RoundNumber, MemberId, Pseudonym, IdempotencyKey, BodyHash);

/// <summary>How an expert's save ended; <see cref="Response"/> is the stored response when it came with an Idempotency-Key.</summary>
public abstract record SaveOutcome
{
    public string? Response { get; init; }

    /// <param name="Answers">the expert's answers to the topic after the save</param>
    public sealed record Saved(IReadOnlyDictionary<string, QuestionAnswer> Answers, IReadOnlyList<string> Changed, bool Complete) : SaveOutcome;
    /// <param name="Ranks">topic → rank after the save, null where a rank was taken away</param>
    public sealed record Ranked(IReadOnlyDictionary<string, double?> Ranks, bool Changed) : SaveOutcome;
    public sealed record ProfileSaved(IReadOnlyDictionary<string, string> Answers) : SaveOutcome;
    public sealed record Invalid(IReadOnlyList<AnswerError> Errors) : SaveOutcome;
    /// <summary>The first response to this Idempotency-Key, in <see cref="SaveOutcome.Response"/>.</summary>
    public sealed record Replayed : SaveOutcome;
    /// <summary>The round is not open for the expert.</summary>
    public sealed record Closed(AnswerWindow Window) : SaveOutcome;
    /// <summary>Not possible as asked (an Idempotency-Key used for another request).</summary>
    public sealed record Refused(string Detail) : SaveOutcome;
    public sealed record NotFound(string Detail) : SaveOutcome;
    /// <summary>A request that does not fit (a ranking's field or topics); nothing was saved.</summary>
    public sealed record BadRequest(string Detail) : SaveOutcome;
}

/// <summary>
/// Writes answers with group commit: submissions queue up, one writer takes all that are waiting and handles them
/// in one transaction on a long-lived connection with prepared statements, then acknowledges each after the commit.
/// Each submission runs in its own savepoint, so one that fails cannot spoil the others. Checking against the
/// expert's current answers happens here, in order, so two saves of one topic never race. It is the only writer of
/// answer rows and their history: topic answers and rankings alike.
/// </summary>
public sealed class AnswerWriter(Db db, ChangeEvents changes, TimeProvider clock, ILogger<AnswerWriter> log) : BackgroundService
{
    public const int MaxBatch = 512;
    readonly Channel<AnswerWrite> _queue = Channel.CreateUnbounded<AnswerWrite>(new UnboundedChannelOptions { SingleReader = true });
    Statements? _statements;

    // WAL checkpoints (issue 9): SQLite's automatic checkpoint ran in the writer's commits, copying about 1,000 pages
    // into the database file and syncing it every few batches while every queued save waited. A checkpointer on a
    // connection of its own now copies committed pages beside the writer. The WAL only starts over when a write
    // begins with every frame copied and no reader in the WAL, which a checkpointer beside continuous commits never
    // sees; so once the WAL holds RestartFrames frames, the writer copies the few pages the checkpointer has not
    // reached yet and waits for the readers of the moment to finish (Restart), and its next commit starts the WAL over.
    // Each restart holds the writer for two syncs and the last pages' copy (17 ms on average at national scale, up to
    // 60): at 2,000 frames that was every 8 batches and 16 % of the writer's time; at 16,384 (a WAL of 64 MiB) 3.5 %.
    public int RestartFrames { get; set; } = 16384;
    readonly SemaphoreSlim _checkpointWanted = new(0, 1);
    volatile bool _restartWanted;
    volatile int _walFrames; // as the checkpointer last saw it
    // One checkpoint at a time: the writer's waits for the checkpointer's pass to end instead of finding it busy.
    readonly object _checkpointGate = new();
    int _batchesSinceCheckpoint;

    public async Task<SaveOutcome> SubmitAsync(AnswerWrite s)
    {
        if (s.IdempotencyKey is not null && s.Respond is null)
            throw new ArgumentException("a write with an Idempotency-Key needs its response, to store with it", nameof(s));
        if (!_queue.Writer.TryWrite(s)) throw new InvalidOperationException("the answer writer has stopped");
        return await s.Done.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<AnswerWrite>(MaxBatch);
        using var stopCheckpoints = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var checkpointer = Task.Factory.StartNew(() => CheckpointLoop(stopCheckpoints.Token), stopCheckpoints.Token, TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var s)) batch.Add(s);
                await WriteBatchAsync(batch);
            }
        }
        catch (OperationCanceledException) { }
        finally
        {
            stopCheckpoints.Cancel();
            try { await checkpointer; } catch (OperationCanceledException) { }
            _statements?.Dispose();
            while (_queue.Reader.TryRead(out var s)) s.Done.TrySetCanceled();
        }
    }

    /// <summary>Copies committed pages from the WAL into the database file, beside the writer, whenever it has committed.</summary>
    void CheckpointLoop(CancellationToken stop)
    {
        SqliteConnection? c = null;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                _checkpointWanted.Wait(stop);
                try
                {
                    if (c is null)
                    {
                        c = db.OpenAsync(stop).GetAwaiter().GetResult();
                        // A connection that has read nothing yet does not know the file is in WAL mode: its checkpoints
                        // do nothing and report no WAL (-1 frames), and the WAL would never start over.
                        using var read = c.CreateCommand();
                        read.CommandText = "PRAGMA journal_mode";
                        read.ExecuteScalar();
                    }
                    int rc, frames;
                    lock (_checkpointGate) (rc, frames, _) = Checkpoint(c);
                    if (rc == SQLitePCL.raw.SQLITE_OK) Interlocked.Exchange(ref _batchesSinceCheckpoint, 0);
                    if (rc == SQLitePCL.raw.SQLITE_OK) _walFrames = frames;
                    if (rc == SQLitePCL.raw.SQLITE_OK && frames >= RestartFrames) _restartWanted = true;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    log.LogWarning(e, "A WAL checkpoint beside the answer writer failed; the writer checkpoints itself");
                    c?.Dispose();
                    c = null;
                    _restartWanted = true;
                }
                // Commits in the meantime are copied together by the next pass.
                stop.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(20));
            }
        }
        catch (OperationCanceledException) { }
        finally { c?.Dispose(); }
    }

    /// <summary>A passive checkpoint (never waits for the writer or readers): the result code, the WAL's frames and those copied.</summary>
    static (int Rc, int Log, int Copied) Checkpoint(SqliteConnection c)
    {
        int rc = SQLitePCL.raw.sqlite3_wal_checkpoint_v2(c.Handle, "main", SQLitePCL.raw.SQLITE_CHECKPOINT_PASSIVE, out int log, out int copied);
        return (rc, log, copied);
    }

    /// <summary>
    /// Copies what is left and waits, briefly, until no reader uses the WAL, so that the next commit starts it over.
    /// A passive checkpoint cannot do this: under steady requests some reader always holds a snapshot, and the WAL
    /// then grows without end (SQLite's "checkpoint starvation").
    /// </summary>
    static int Restart(SqliteConnection c, int waitMs)
    {
        SQLitePCL.raw.sqlite3_busy_timeout(c.Handle, waitMs);
        try { return SQLitePCL.raw.sqlite3_wal_checkpoint_v2(c.Handle, "main", SQLitePCL.raw.SQLITE_CHECKPOINT_RESTART, out _, out _); }
        finally { SQLitePCL.raw.sqlite3_busy_timeout(c.Handle, Db.BusyTimeoutMs); }
    }

    // Readers hold a snapshot for a query's length (milliseconds); saves wait behind this at most once per restart.
    // Past four times RestartFrames (readers slowed by an overloaded machine kept missing the short wait), the writer
    // waits up to a second: a pause of the saves rather than a WAL without bound.
    const int RestartWaitMs = 50, RestartLongWaitMs = 1000;

    async Task WriteBatchAsync(List<AnswerWrite> batch)
    {
        var outcomes = new SaveOutcome?[batch.Count];
        try
        {
            await db.WithWriteGateAsync(async () =>
            {
                var st = _statements ??= await Statements.OpenAsync(db);
                // The WAL is long: copy what the checkpointer has not reached (little), so that this batch starts it
                // over. Also if the checkpointer has not run for long, so the WAL stays bounded without it.
                if (_restartWanted || Interlocked.Increment(ref _batchesSinceCheckpoint) > 500)
                {
                    int rc;
                    lock (_checkpointGate) rc = Restart(st.Connection, _walFrames > 4 * RestartFrames ? RestartLongWaitMs : RestartWaitMs);
                    // Readers still busy: this batch goes ahead, the next one tries again.
                    if (rc == SQLitePCL.raw.SQLITE_OK)
                    {
                        _restartWanted = false;
                        Interlocked.Exchange(ref _batchesSinceCheckpoint, 0);
                    }
                }
                using var tx = st.Connection.BeginTransaction(deferred: false);
                st.Enlist(tx);
                var now = clock.GetUtcNow();
                var nowIso = Db.Iso(now);
                var rounds = new Dictionary<long, (bool Open, DateTimeOffset? Deadline)>();
                for (int i = 0; i < batch.Count; i++)
                {
                    st.Savepoint.ExecuteNonQuery();
                    try
                    {
                        outcomes[i] = Process(st, batch[i], now, nowIso, rounds);
                        st.Release.ExecuteNonQuery();
                    }
                    // Any failure of one submission (not only SQLite's) is that submission's alone: the others commit.
                    catch (Exception e)
                    {
                        st.RollbackTo.ExecuteNonQuery();
                        st.Release.ExecuteNonQuery();
                        log.LogError(e, "Saving answers of member {Member} ({What}) failed", batch[i].MemberId, What(batch[i]));
                        outcomes[i] = null;
                    }
                }
                tx.Commit();
                st.Enlist(null);
                if (_checkpointWanted.CurrentCount == 0) try { _checkpointWanted.Release(); } catch (SemaphoreFullException) { }
            });
        }
        catch (Exception e)
        {
            log.LogError(e, "An answer batch of {Count} could not be committed", batch.Count);
            _statements?.Dispose();
            _statements = null;
            foreach (var s in batch) s.Done.TrySetException(e);
            return;
        }
        for (int i = 0; i < batch.Count; i++)
        {
            var s = batch[i];
            if (outcomes[i] is not { } outcome) { s.Done.TrySetException(new InvalidOperationException("the answer could not be stored")); continue; }
            // The answer is committed: it is acknowledged even if a subscriber fails (Publish logs it); otherwise the
            // rest of the batch would never be answered. Published in commit order: one writer, one batch after another.
            if (outcome is SaveOutcome.Saved { Changed.Count: > 0 } saved && s is Submission topic)
                changes.Publish(new AnswerSaved(s.SurveyId, s.RoundId, s.MemberId, s.Pseudonym, topic.Topic, saved.Answers));
            else if (outcome is SaveOutcome.Ranked { Changed: true } ranked && s is RankingSubmission ranking)
                changes.Publish(new RankingSaved(s.SurveyId, s.RoundId, s.MemberId, s.Pseudonym, ranking.Ranking, ranked.Ranks));
            s.Done.TrySetResult(outcome);
        }
    }

    static string What(AnswerWrite s) => s switch
    {
        Submission t => "topic " + t.Topic,
        RankingSubmission r => "ranking " + r.Ranking,
        _ => s.GetType().Name,
    };

    SaveOutcome Process(Statements st, AnswerWrite s, DateTimeOffset now, string nowIso, Dictionary<long, (bool Open, DateTimeOffset? Deadline)> rounds)
    {
        if (s.IdempotencyKey is not null)
        {
            st.SelectSubmission.Parameters["$member"].Value = s.MemberId;
            st.SelectSubmission.Parameters["$key"].Value = s.IdempotencyKey;
            using var r = st.SelectSubmission.ExecuteReader();
            if (r.Read())
                return r.GetString(0) == s.BodyHash
                    ? new SaveOutcome.Replayed { Response = r.GetString(1) }
                    : new SaveOutcome.Refused("This Idempotency-Key was used for a different request; use a new key for new answers.");
        }
        // The round may have closed, its deadline passed or the expert left its panel since the request was checked.
        var window = Window(st, s, now, rounds);
        if (!window.Open) return new SaveOutcome.Closed(window);

        var outcome = s switch
        {
            Submission topic => SaveTopic(st, topic, nowIso),
            RankingSubmission ranking => SaveRanking(st, ranking, nowIso),
            _ => throw new InvalidOperationException($"unknown write {s.GetType().Name}"),
        };
        if (s.IdempotencyKey is not null && outcome is SaveOutcome.Saved or SaveOutcome.Ranked)
        {
            // Stored in this save's savepoint: committed with it, or not at all.
            var response = s.Respond!(outcome);
            var p = st.InsertSubmission.Parameters;
            p["$member"].Value = s.MemberId;
            p["$key"].Value = s.IdempotencyKey;
            p["$hash"].Value = s.BodyHash;
            p["$response"].Value = response;
            p["$now"].Value = nowIso;
            st.InsertSubmission.ExecuteNonQuery();
            outcome = outcome with { Response = response };
        }
        return outcome;
    }

    /// <summary>The answer window of the write's round for its expert, from this transaction (rounds read once a batch).</summary>
    static AnswerWindow Window(Statements st, AnswerWrite s, DateTimeOffset now, Dictionary<long, (bool Open, DateTimeOffset? Deadline)> rounds)
    {
        if (!rounds.TryGetValue(s.RoundId, out var round))
        {
            st.SelectRound.Parameters["$round"].Value = s.RoundId;
            using var r = st.SelectRound.ExecuteReader();
            round = r.Read()
                ? (RoundStatus.Parse(r.GetString(0)) == RoundStatus.Open, AnswerWindow.ParseDeadline(r.IsDBNull(1) ? null : r.GetString(1)))
                : (false, null);
            rounds[s.RoundId] = round;
        }
        st.SelectMember.Parameters["@round"].Value = s.RoundId;
        st.SelectMember.Parameters["@member"].Value = s.MemberId;
        bool onRound = false, revoked = false;
        using (var r = st.SelectMember.ExecuteReader())
            if (r.Read()) (revoked, onRound) = (r.GetInt64(0) != 0, r.GetInt64(1) != 0);
        return AnswerWindow.Check(s.RoundNumber, round.Open, round.Deadline, onRound, revoked, now);
    }

    SaveOutcome SaveTopic(Statements st, Submission s, string now)
    {
        // The topic's row: every answer of the expert to it, the questions' and the rankings' (kept as they are).
        var stored = ReadRow(st, s.RoundId, s.MemberId, s.TopicId);
        var current = new Dictionary<string, QuestionAnswer>(StringComparer.Ordinal);
        foreach (var (q, e) in stored)
            if (s.Rules.Survey.Question(q) is not null)
                current[q] = new QuestionAnswer(AnswerValue.FromStored(e.Value, e.Number), e.Rationale);

        var outcome = TopicAnswers.Apply(s.Rules, current, s.Answers, s.Rationales);
        if (!outcome.Ok) return new SaveOutcome.Invalid(outcome.Errors);

        // Only what changed is written; an unchanged answer writes nothing, so a repeated request is stored once.
        var changed = new List<string>();
        AnswerHistory.Writer? history = null;
        foreach (var question in current.Keys.Union(outcome.Answers.Keys).Order(StringComparer.Ordinal))
        {
            current.TryGetValue(question, out var old);
            outcome.Answers.TryGetValue(question, out var @new);
            if (old is not null && @new is not null && old.Value.Text == @new.Value.Text && old.Rationale == @new.Rationale) continue;
            changed.Add(question);
            if (@new is null) stored.Remove(question);
            else stored[question] = new TopicAnswerRow.Entry(@new.Value.Text, @new.Value.Number, @new.Rationale,
                (stored.TryGetValue(question, out var before) ? before.Revision : 0) + 1, now);
            history ??= AnswerHistory.Start();
            AnswerHistory.Add(history, question, @new?.Value.Text, @new?.Value.Number, @new?.Rationale);
        }
        if (history is not null) WriteRow(st, s.RoundId, s.MemberId, s.TopicId, stored, AnswerHistory.Finish(history), now);
        return new SaveOutcome.Saved(outcome.Answers, changed,
            outcome.Answers.Count > 0 && TopicAnswers.IsComplete(s.Rules.Survey, s.RoundNumber, outcome.Answers));
    }

    /// <summary>A ranking is one key of each ranked topic's row (the rank as its number), beside the expert's answers to the topic, which stay as they
    /// are.</summary>
    static SaveOutcome SaveRanking(Statements st, RankingSubmission s, string now)
    {
        var wanted = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < s.Order.Count; i++) wanted[s.Order[i]] = i + 1;
        var ranks = new Dictionary<string, double?>(StringComparer.Ordinal);
        bool changed = false;
        foreach (var (code, topicId) in s.Scope.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            var entries = ReadRow(st, s.RoundId, s.MemberId, topicId);
            entries.TryGetValue(s.Ranking, out var old);
            bool has = wanted.TryGetValue(code, out var rank);
            if (old is null && !has) continue;
            ranks[code] = has ? rank : null;
            if (old?.Number is { } before && has && before == rank) continue;
            changed = true;
            var value = has ? rank.ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
            if (has) entries[s.Ranking] = new TopicAnswerRow.Entry(value!, rank, null, (old?.Revision ?? 0) + 1, now);
            else entries.Remove(s.Ranking);
            WriteRow(st, s.RoundId, s.MemberId, topicId, entries, AnswerHistory.Of(s.Ranking, value, has ? rank : null), now);
        }
        return new SaveOutcome.Ranked(ranks, changed);
    }

    /// <summary>The expert's row for a topic (empty when there is none).</summary>
    static Dictionary<string, TopicAnswerRow.Entry> ReadRow(Statements st, long round, long member, long topic)
    {
        st.SelectCurrent.Parameters["$round"].Value = round;
        st.SelectCurrent.Parameters["$member"].Value = member;
        st.SelectCurrent.Parameters["$topic"].Value = topic;
        return st.SelectCurrent.ExecuteScalar() is string json ? TopicAnswerRow.Parse(json)
            : new Dictionary<string, TopicAnswerRow.Entry>(StringComparer.Ordinal);
    }

    /// <summary>Writes an expert's row for a topic (the whole row at once, one upsert; or no row once nothing is left) and one history row of what
    /// changed.</summary>
    static void WriteRow(Statements st, long round, long member, long topic, IReadOnlyDictionary<string, TopicAnswerRow.Entry> entries, string changes,
        string now)
    {
        var answers = TopicAnswerRow.Write(entries);
        var write = answers is null ? st.DeleteAnswers : st.UpsertAnswers;
        write.Parameters["$round"].Value = round;
        write.Parameters["$member"].Value = member;
        write.Parameters["$topic"].Value = topic;
        if (answers is not null)
        {
            write.Parameters["$answers"].Value = answers;
            write.Parameters["$now"].Value = now;
        }
        write.ExecuteNonQuery();
        var h = st.InsertHistory.Parameters;
        h["$round"].Value = round;
        h["$member"].Value = member;
        h["$topic"].Value = topic;
        h["$changes"].Value = changes;
        h["$now"].Value = now;
        st.InsertHistory.ExecuteNonQuery();
    }

    /// <summary>The writer's connection and its prepared statements, kept for the life of the process.</summary>
    sealed class Statements : IDisposable
    {
        public required SqliteConnection Connection { get; init; }
        public required SqliteCommand Savepoint, Release, RollbackTo, SelectSubmission, InsertSubmission, SelectRound, SelectMember, SelectCurrent,
            UpsertAnswers, DeleteAnswers, InsertHistory;

        IEnumerable<SqliteCommand> All => [Savepoint, Release, RollbackTo, SelectSubmission, InsertSubmission, SelectRound, SelectMember, SelectCurrent,
            UpsertAnswers, DeleteAnswers, InsertHistory];

        public void Enlist(SqliteTransaction? tx) { foreach (var c in All) c.Transaction = tx; }

        public static async Task<Statements> OpenAsync(Db db)
        {
            var c = await db.OpenAsync();
            await using (var pragma = c.CreateCommand())
            {
                // A page cache that holds the answer index of a national round (SQLite's default is 2 MB), and no
                // larger: a commit after a B-tree rebalance walks the cache's whole hash table (balance_nonroot renames
                // a page through the lock-byte page's number, so the cache's highest key jumps past the database's
                // size). At 128 MiB that walk was 10 % of the server's CPU at national scale; a miss here costs a
                // read from the operating system's file cache instead.
                // Checkpoints are the checkpointer's (see RestartFrames), not this connection's commits'.
                pragma.CommandText = db.WriterPragmas + " PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 0;";
                await pragma.ExecuteNonQueryAsync();
            }
            SqliteCommand Cmd(string sql, params string[] parameters)
            {
                var cmd = c.CreateCommand();
                cmd.CommandText = sql;
                foreach (var p in parameters) cmd.Parameters.Add(new SqliteParameter(p, null));
                return cmd;
            }
            var st = new Statements
            {
                Connection = c,
                Savepoint = Cmd("SAVEPOINT answer"),
                Release = Cmd("RELEASE answer"),
                RollbackTo = Cmd("ROLLBACK TO answer"),
                SelectSubmission = Cmd("SELECT body_hash, response FROM submissions WHERE member_id = $member AND idempotency_key = $key", "$member", "$key"),
                InsertSubmission = Cmd(
                    "INSERT INTO submissions (member_id, idempotency_key, body_hash, response, created_at) VALUES ($member, $key, $hash, $response, $now)",
                    "$member", "$key", "$hash", "$response", "$now"),
                SelectRound = Cmd("SELECT status, deadline FROM rounds WHERE id = $round", "$round"),
                SelectMember = Cmd(QuestionnaireCache.MembershipSql, "@round", "@member"),
                SelectCurrent = Cmd("SELECT answers FROM topic_answers WHERE round_id = $round AND member_id = $member AND topic_id = $topic",
                    "$round", "$member", "$topic"),
                UpsertAnswers = Cmd("""
                    INSERT INTO topic_answers (round_id, member_id, topic_id, answers, updated_at) VALUES ($round, $member, $topic, $answers, $now)
                    ON CONFLICT (round_id, member_id, topic_id) DO UPDATE SET answers = excluded.answers, updated_at = excluded.updated_at
                    """, "$round", "$member", "$topic", "$answers", "$now"),
                DeleteAnswers = Cmd("DELETE FROM topic_answers WHERE round_id = $round AND member_id = $member AND topic_id = $topic",
                    "$round", "$member", "$topic"),
                InsertHistory = Cmd(
                    "INSERT INTO answer_history (round_id, member_id, topic_id, changes, recorded_at) VALUES ($round, $member, $topic, $changes, $now)",
                    "$round", "$member", "$topic", "$changes", "$now"),
            };
            foreach (var cmd in st.All) cmd.Prepare();
            return st;
        }

        public void Dispose()
        {
            foreach (var c in All) c.Dispose();
            Connection.Dispose();
        }
    }
}
