{# brainconv: a zero-delay additive pathway without Brian2's spike queue (C++ standalone).
   The Synapses hold one entry per ANN weight, sorted by presynaptic index, for batch copy 0;
   every copy shares them. A spike of source neuron _i (copy _i / n_pre, weight row
   _i % n_pre) adds that row to the copy's target variable. Spikes are visited in ascending
   order and each row in ascending column order: every target receives the same sums in the
   same order as through Brian2's own propagation. A dense row is contiguous, so the compiler
   vectorises its loop. #}
{# USES_VARIABLES { N, _spikespace, w, _synaptic_pre, _synaptic_post, _target } #}
{% extends 'common_group.cpp' %}
{% block extra_headers %}
{{ super() }}
{% if not dense %}
#include <string>
#include <unordered_map>
#include <vector>
{% endif %}
{% endblock %}
{% block maincode %}
    // brainconv pathway: weight rows added per spike, no spike queue
    const int32_t _n_spikes = {{_spikespace}}[{{n_source}}];
    const int32_t _n_syn = {{constant_or_scalar('N', variables['N'])}};
    {% if not dense %}
    // A sparse row's synapses, from the presynaptic indices (sorted) once per process: where a
    // binary search and a compare per synapse took half of a conv pathway's time (perf).
    static std::vector<int32_t> _row_start;
    if (_row_start.size() != {{n_pre}} + 1 || _row_start[{{n_pre}}] != _n_syn)
    {
        _row_start.assign({{n_pre}} + 1, 0);
        for (int32_t _e = 0; _e < _n_syn; _e++)
            _row_start[{{_synaptic_pre}}[_e] + 1]++;
        for (int32_t _r = 0; _r < {{n_pre}}; _r++)
            _row_start[_r + 1] += _row_start[_r];
    }
    {% set w_type = c_data_type(variables['w'].dtype) %}
    // Rows that repeat, shifted (a convolution's: the same kernel slice at every position
    // of an input channel), are stored once: a pattern of (target offset, weight) pairs and,
    // per row, its pattern and first target. A conv row then comes from a table of ~1 MB
    // instead of the ~12 MB of all synapses (C++ micro-benchmark of the MNIST CNN's conv2
    // pathway: 1.4-1.7x faster). Built once per process, after run_args set w (the weights
    // of a direct pathway do not change during a run); where patterns would not save
    // three quarters of the synapses, the rows are read as they are (the search stops as soon
    // as the table passes a quarter of the synapses, so it never holds more).
    static std::vector<int32_t> _row_pattern, _row_base, _pattern_start, _pattern_target;
    static std::vector<{{w_type}}> _pattern_w;
    static int32_t _patterns_for = -1;  // the synapse count they were built for
    if (_patterns_for != _n_syn)
    {
        _patterns_for = _n_syn;
        _row_pattern.assign({{n_pre}}, 0);
        _row_base.assign({{n_pre}}, 0);
        _pattern_start.clear(); _pattern_target.clear(); _pattern_w.clear();
        std::unordered_map<std::string, int32_t> _seen;
        std::string _key;
        for (int32_t _r = 0; _r < {{n_pre}}; _r++)
        {
            const int32_t _a = _row_start[_r], _b = _row_start[_r + 1];
            const int32_t _base = _a < _b ? {{_synaptic_post}}[_a] : 0;
            _key.clear();
            for (int32_t _e = _a; _e < _b; _e++)
            {
                const int32_t _offset = {{_synaptic_post}}[_e] - _base;
                _key.append((const char*)&_offset, sizeof(_offset));
                _key.append((const char*)&{{w}}[_e], sizeof({{w_type}}));
            }
            const auto _found = _seen.emplace(_key, (int32_t)_pattern_start.size());
            if (_found.second)
            {
                _pattern_start.push_back((int32_t)_pattern_target.size());
                for (int32_t _e = _a; _e < _b; _e++)
                {
                    _pattern_target.push_back({{_synaptic_post}}[_e] - _base);
                    _pattern_w.push_back({{w}}[_e]);
                }
                if (4 * _pattern_target.size() > (size_t)_n_syn)
                    break;  // no saving: stop before the table (and its keys) grow further
            }
            _row_pattern[_r] = _found.first->second;
            _row_base[_r] = _base;
        }
        _pattern_start.push_back((int32_t)_pattern_target.size());
        if (4 * _pattern_target.size() > (size_t)_n_syn)
        {
            _row_pattern.clear(); _row_base.clear(); _pattern_start.clear();
            std::vector<int32_t>().swap(_pattern_target);
            std::vector<{{w_type}}>().swap(_pattern_w);
        }
    }
    {% endif %}
    {% set target_type = c_data_type(variables['_target'].dtype) %}
    {% if dense and n_post <= 16 %}
    // Short dense rows (an output layer): a copy's sums stay in a local array while its
    // spikes last (they are consecutive), then go back once. The same additions in the same
    // order as the loop below, without a store and a reload of the target per spike (perf:
    // that chain and the weight row's load were most of 784-4000-10's output pathway).
    int32_t _s = 0;
    while (_s < _n_spikes)
    {
        const int32_t _c = {{_spikespace}}[_s] / {{n_pre}};
        {{target_type}}* const _copy = {{_target}} + (size_t)_c * {{n_post}};
        {{target_type}} _sums[{{n_post}}];
        for (int32_t _j = 0; _j < {{n_post}}; _j++)
            _sums[_j] = _copy[_j];
        for (; _s < _n_spikes && {{_spikespace}}[_s] / {{n_pre}} == _c; _s++)
        {
            const int32_t _i = {{_spikespace}}[_s];
            {% if payload %}
            const {{c_data_type(variables['_payload'].dtype)}} _scale = {{_payload}}[_i];
            {% endif %}
            const {{c_data_type(variables['w'].dtype)}}* const _w_j = {{w}} + (size_t)(_i - _c * {{n_pre}}) * {{n_post}};
            for (int32_t _j = 0; _j < {{n_post}}; _j++)
                _sums[_j] += _w_j[_j]{{" * _scale" if payload else ""}};
        }
        for (int32_t _j = 0; _j < {{n_post}}; _j++)
            _copy[_j] = _sums[_j];
    }
    {% else %}
    for (int32_t _s = 0; _s < _n_spikes; _s++)
    {
        const int32_t _i = {{_spikespace}}[_s];
        const int32_t _k = _i % {{n_pre}};
        {{c_data_type(variables['_target'].dtype)}}* const _copy = {{_target}} + (size_t)(_i / {{n_pre}}) * {{n_post}};
        {% if payload %}
        const {{c_data_type(variables['_payload'].dtype)}} _scale = {{_payload}}[_i];
        {% endif %}
        {% if dense %}
        {{c_data_type(variables['_target'].dtype)}}* _target_j = _copy;
        const {{c_data_type(variables['w'].dtype)}}* _w_j = {{w}} + (size_t)_k * {{n_post}};
        int32_t _left = {{n_post}};
        // Scalar steps until the target is 32-byte aligned: the vectorised loop's stores then
        // never straddle a cache line, whatever address Brian2 gave the target array.
        for (; _left > 0 && ((size_t)_target_j & 31); _left--)
            *_target_j++ += *_w_j++{{" * _scale" if payload else ""}};
        for (int32_t _j = 0; _j < _left; _j++)
            _target_j[_j] += _w_j[_j]{{" * _scale" if payload else ""}};
        {% else %}
        if (!_row_pattern.empty())
        {
            {{target_type}}* const _row_copy = _copy + _row_base[_k];
            const int32_t _p = _row_pattern[_k], _stop = _pattern_start[_p + 1];
            for (int32_t _e = _pattern_start[_p]; _e < _stop; _e++)
                _row_copy[_pattern_target[_e]] += _pattern_w[_e]{{" * _scale" if payload else ""}};
            continue;
        }
        const int32_t _stop = _row_start[_k + 1];
        for (int32_t _e = _row_start[_k]; _e < _stop; _e++)
            _copy[{{_synaptic_post}}[_e]] += {{w}}[_e]{{" * _scale" if payload else ""}};
        {% endif %}
    }
    {% endif %}
{% endblock %}
