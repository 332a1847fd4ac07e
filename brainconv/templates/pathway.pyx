{# brainconv: a zero-delay additive pathway without Brian2's spike queue (Cython runtime);
   the same loop as pathway.cpp (see there). #}
{# USES_VARIABLES { N, _spikespace, w, _synaptic_pre, _synaptic_post, _target } #}
{% extends 'common_group.pyx' %}
{% block maincode %}
    cdef int32_t _n_spikes = {{_spikespace}}[_num{{_spikespace}} - 1]
    cdef int32_t _n_syn = {{N}}
    cdef int32_t _s, _i, _k, _e, _lo, _hi, _mid
    cdef size_t _base
    cdef double _scale = 1.0
    for _s in range(_n_spikes):
        _i = {{_spikespace}}[_s]
        _k = _i % {{n_pre}}
        _base = <size_t>(_i // {{n_pre}}) * {{n_post}}
        {% if payload %}
        _scale = {{_payload}}[_i]
        {% endif %}
        _lo = 0
        _hi = _n_syn
        while _lo < _hi:  # the row's first synapse
            _mid = _lo + (_hi - _lo) // 2
            if {{_synaptic_pre}}[_mid] < _k:
                _lo = _mid + 1
            else:
                _hi = _mid
        _e = _lo
        while _e < _n_syn and {{_synaptic_pre}}[_e] == _k:
            {{_target}}[_base + {{_synaptic_post}}[_e]] += {{w}}[_e]{{" * _scale" if payload else ""}}
            _e += 1
{% endblock %}
