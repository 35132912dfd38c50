using System.Text.Json;
using System.Text.Json.Serialization;

namespace Foresight.Core;

/// <summary>
/// A status as a typed value: a fixed set of named instances per kind, compared by reference to those instances, never
/// to free strings. It reads and writes as its name, the word the database, the API and the pages use ("open",
/// "ready"), so a status in a page, a query parameter or a JSON answer is the same text as before it was typed.
/// </summary>
public abstract class Status<T> : IEquatable<T> where T : Status<T>
{
    static readonly List<T> Registered = [];
    static IReadOnlyList<T>? _all;
    static IReadOnlyDictionary<string, T>? _byName;

    public string Name { get; }

    protected Status(string name)
    {
        Name = name;
        lock (Registered) Registered.Add((T)this);
    }

    /// <summary>The instance of a stored or received name; an unknown name is an error (the database's CHECK allows only these).</summary>
    public static T Parse(string name) =>
        ByName.TryGetValue(name, out var status) ? status : throw new FormatException($"'{name}' is not a {typeof(T).Name}");

    /// <summary>Every instance, in the order they are declared.</summary>
    public static IReadOnlyList<T> All => _all ??= Snapshot();

    static IReadOnlyDictionary<string, T> ByName => _byName ??= All.ToDictionary(s => s.Name, StringComparer.Ordinal);

    // The instances are static fields of T: running T's initialisers registers them all, once, before the first lookup.
    static IReadOnlyList<T> Snapshot()
    {
        System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(T).TypeHandle);
        lock (Registered) return Registered.ToList();
    }

    public bool Equals(T? other) => ReferenceEquals(this, other);
    public override bool Equals(object? obj) => ReferenceEquals(this, obj);
    public override int GetHashCode() => Name.GetHashCode(StringComparison.Ordinal);
    public override string ToString() => Name;
}

/// <summary>Writes a status as its name in JSON and reads it back.</summary>
public sealed class StatusJsonConverter<T> : JsonConverter<T> where T : Status<T>
{
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => Status<T>.Parse(reader.GetString()!);
    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(value.Name);
}

/// <summary>A survey: a draft until its first round opens, running while rounds follow, finished once its key technologies are chosen.</summary>
[JsonConverter(typeof(StatusJsonConverter<SurveyStatus>))]
public sealed class SurveyStatus(string name) : Status<SurveyStatus>(name)
{
    public static readonly SurveyStatus Draft = new("draft"), Running = new("running"), Finished = new("finished");
}

/// <summary>
/// A round: open for answers, or closed. Closing is what people see between the close's two steps (closed to
/// answers, its consensus not yet stored); the database holds it as closed without a data hash.
/// </summary>
[JsonConverter(typeof(StatusJsonConverter<RoundStatus>))]
public sealed class RoundStatus(string name) : Status<RoundStatus>(name)
{
    public static readonly RoundStatus Open = new("open"), Closing = new("closing"), Closed = new("closed");
}

/// <summary>A topic: asked (active), or out of the next rounds, and why.</summary>
[JsonConverter(typeof(StatusJsonConverter<TopicStatus>))]
public sealed class TopicStatus(string name) : Status<TopicStatus>(name)
{
    public static readonly TopicStatus Active = new("active"), Retired = new("retired"), Merged = new("merged"), Split = new("split"),
        Removed = new("removed");
}

/// <summary>A report's rendering.</summary>
[JsonConverter(typeof(StatusJsonConverter<ReportStatus>))]
public sealed class ReportStatus(string name) : Status<ReportStatus>(name)
{
    public static readonly ReportStatus Queued = new("queued"), Rendering = new("rendering"), Ready = new("ready"), Failed = new("failed");
}

/// <summary>An e-mail in the outbox (sent at most once: a message whose fate is unknown is interrupted, never sent again).</summary>
[JsonConverter(typeof(StatusJsonConverter<MailStatus>))]
public sealed class MailStatus(string name) : Status<MailStatus>(name)
{
    public static readonly MailStatus Queued = new("queued"), Sending = new("sending"), Sent = new("sent"), Failed = new("failed"),
        Cancelled = new("cancelled"), Interrupted = new("interrupted");
}

/// <summary>A literature import: being written (its records not seen yet), done, or failed (its records removed).</summary>
[JsonConverter(typeof(StatusJsonConverter<ImportStatus>))]
public sealed class ImportStatus(string name) : Status<ImportStatus>(name)
{
    public static readonly ImportStatus Importing = new("importing"), Done = new("done"), Failed = new("failed");
}

/// <summary>A machine analysis of the literature records.</summary>
[JsonConverter(typeof(StatusJsonConverter<AnalysisStatus>))]
public sealed class AnalysisStatus(string name) : Status<AnalysisStatus>(name)
{
    public static readonly AnalysisStatus Queued = new("queued"), Done = new("done"), Failed = new("failed");
}

/// <summary>A machine-proposed topic: open for review, or how the coordinator decided it.</summary>
[JsonConverter(typeof(StatusJsonConverter<ProposalStatus>))]
public sealed class ProposalStatus(string name) : Status<ProposalStatus>(name)
{
    public static readonly ProposalStatus Open = new("open"), Accepted = new("accepted"), Edited = new("edited"), Merged = new("merged"),
        Split = new("split"), Rejected = new("rejected");
}
