using Mono.Cecil;
using Mono.Cecil.Cil;
using Xunit.Abstractions;

namespace Foresight.Server.Tests;

/// <summary>
/// The server's features talk to each other through services and change events: no feature calls another feature's
/// endpoints, the features' dependencies form no cycle, and Plumbing depends on no feature. Read from the compiled
/// server (every type, member signature and instruction, lambdas, async methods and Razor views included).
/// </summary>
public sealed class ArchitectureTests(ITestOutputHelper output)
{
    const string Features = "Foresight.Server.Features.";
    const string Plumbing = "Foresight.Server.Plumbing";

    /// <summary>Each part of the server (a feature's name, "Plumbing", or null for Program and the rest) → the types it uses.</summary>
    static Dictionary<string, HashSet<TypeReference>> Uses()
    {
        using var module = ModuleDefinition.ReadModule(typeof(Program).Assembly.Location);
        var uses = new Dictionary<string, HashSet<TypeReference>>();
        foreach (var type in module.GetTypes())
        {
            if (PartOf(type) is not { } part) continue;
            if (!uses.TryGetValue(part, out var set)) uses[part] = set = new HashSet<TypeReference>(TypeComparer.Instance);
            void Add(TypeReference? t)
            {
                if (t is null) return;
                if (t is GenericInstanceType g) foreach (var a in g.GenericArguments) Add(a);
                if (t is TypeSpecification spec) { Add(spec.ElementType); return; }
                set.Add(t);
            }
            Add(type.BaseType);
            foreach (var i in type.Interfaces) Add(i.InterfaceType);
            foreach (var f in type.Fields) Add(f.FieldType);
            foreach (var p in type.Properties) Add(p.PropertyType);
            foreach (var m in type.Methods)
            {
                Add(m.ReturnType);
                foreach (var p in m.Parameters) Add(p.ParameterType);
                if (!m.HasBody) continue;
                foreach (var v in m.Body.Variables) Add(v.VariableType);
                foreach (var ins in m.Body.Instructions)
                    switch (ins.Operand)
                    {
                        case MethodReference mr:
                            Add(mr.DeclaringType);
                            Add(mr.ReturnType);
                            if (mr is GenericInstanceMethod gm) foreach (var a in gm.GenericArguments) Add(a);
                            break;
                        case FieldReference fr: Add(fr.DeclaringType); Add(fr.FieldType); break;
                        case TypeReference tr: Add(tr); break;
                    }
            }
        }
        return uses;
    }

    /// <summary>The part a type belongs to; a Razor view (AspNetCoreGeneratedDocument.Features_Panel_Manage) to its folder's feature.</summary>
    static string? PartOf(TypeReference type)
    {
        while (type.DeclaringType is not null) type = type.DeclaringType;
        var ns = type.Namespace;
        if (ns.StartsWith(Features, StringComparison.Ordinal)) return ns[Features.Length..].Split('.')[0];
        if (ns == Plumbing || ns.StartsWith(Plumbing + ".", StringComparison.Ordinal)) return "Plumbing";
        if (ns == "AspNetCoreGeneratedDocument" && type.Name.StartsWith("Features_", StringComparison.Ordinal)) return type.Name.Split('_')[1];
        return null;
    }

    sealed class TypeComparer : IEqualityComparer<TypeReference>
    {
        public static readonly TypeComparer Instance = new();
        public bool Equals(TypeReference? a, TypeReference? b) => a?.FullName == b?.FullName;
        public int GetHashCode(TypeReference t) => t.FullName.GetHashCode();
    }

    static Dictionary<string, HashSet<string>> Graph(Dictionary<string, HashSet<TypeReference>> uses) =>
        uses.ToDictionary(u => u.Key, u => u.Value.Select(PartOf).OfType<string>().Where(p => p != u.Key).ToHashSet());

    [Fact]
    public void No_feature_calls_another_features_endpoints()
    {
        var wrong = Uses().SelectMany(u => u.Value
                .Where(t => PartOf(t) is { } other && other != u.Key && other != "Plumbing" && t.Name.EndsWith("Endpoints", StringComparison.Ordinal))
                .Select(t => $"{u.Key} uses {t.FullName}"))
            .Order().ToList();
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void Plumbing_depends_on_no_feature()
    {
        var wrong = Uses().GetValueOrDefault("Plumbing", []).Where(t => PartOf(t) is { } p && p != "Plumbing").Select(t => t.FullName).Order().ToList();
        Assert.True(wrong.Count == 0, "Plumbing uses:\n" + string.Join("\n", wrong));
    }

    [Fact]
    public void The_features_depend_on_each_other_without_a_cycle()
    {
        var uses = Uses();
        var graph = Graph(uses);
        foreach (var (part, deps) in graph.OrderBy(g => g.Key)) output.WriteLine($"{part} -> {string.Join(", ", deps.Order())}");
        // Every cycle found by a depth-first search, shown with the types that make each step of it.
        var cycles = new List<string>();
        var state = new Dictionary<string, int>();
        var path = new List<string>();
        void Visit(string node)
        {
            state[node] = 1;
            path.Add(node);
            foreach (var next in graph.GetValueOrDefault(node, []).Order())
            {
                if (state.GetValueOrDefault(next) == 1)
                {
                    var cycle = path.Skip(path.IndexOf(next)).Append(next).ToList();
                    var steps = cycle.Zip(cycle.Skip(1),
                        (a, b) => $"{a} -> {b} ({string.Join(", ", uses[a].Where(t => PartOf(t) == b).Select(t => t.Name).Distinct().Order().Take(4))})");
                    cycles.Add(string.Join("; ", steps));
                }
                else if (state.GetValueOrDefault(next) == 0) Visit(next);
            }
            path.RemoveAt(path.Count - 1);
            state[node] = 2;
        }
        foreach (var node in graph.Keys.Order()) if (state.GetValueOrDefault(node) == 0) Visit(node);
        Assert.True(cycles.Count == 0, "cycles between features:\n" + string.Join("\n", cycles));
    }
}
