// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {Fulfillment, RequestCommitment, ResultStatus} from "../../contracts/interfaces/SibylTypes.sol";
import {QuorumFixture} from "./utils/QuorumFixture.sol";
import {Delivered} from "./utils/SettlementFixture.sol";

/// @notice What a quorum model's results are charged: NoConsensus earns no model fee and cannot be
/// claimed where it has no meaning, and co-signatures are paid for by their own request.
contract SibylCoordinatorQuorumFeesTest is QuorumFixture {
    // ─── NoConsensus ───────────────────────────────────────────────────────────────────────────────

    /// @dev A single-operator model cannot claim its operators disagreed to dodge the model fee.
    function test_noConsensus_onAQuorumOneModelIsAnInvalidStatus() public {
        RequestCommitment memory commitment = _requestAssignedTo(operator);
        Fulfillment memory answer = _fulfillment(commitment, "");
        answer.status = uint8(ResultStatus.NoConsensus);
        _expectDeliverRejected(
            _single(answer),
            operator,
            abi.encodeWithSelector(ISibylCoordinator.InvalidStatus.selector, commitment.requestId, 5)
        );
        Fulfillment memory beyond = _answer(QUORUM_2);
        beyond.status = uint8(type(ResultStatus).max) + 1;
        _expectRefused(
            beyond,
            abi.encodeWithSelector(ISibylCoordinator.InvalidStatus.selector, beyond.commitment.requestId, 6)
        );
    }

    /// @dev NoConsensus is vouched for by nobody: a co-signature of it is not evidence of anything.
    function test_noConsensus_withACosignatureIsRefused() public {
        Fulfillment memory answer = _answer(QUORUM_2);
        answer.status = uint8(ResultStatus.NoConsensus);
        answer.output = "";
        answer.signatures = _cosign(answer, _indices(0));
        _expectRefused(
            answer,
            abi.encodeWithSelector(
                ISibylCoordinator.MalformedDisagreement.selector,
                answer.commitment.requestId,
                65
            )
        );
    }

    function test_noConsensus_chargesGasOnlyAndCreditsTheRestBack() public {
        Fulfillment memory agreed = _answer(QUORUM_2);
        agreed.signatures = _cosign(agreed, _indices(0));
        Fulfillment memory undecided = _answer(QUORUM_2);
        undecided.status = uint8(ResultStatus.NoConsensus);
        undecided.output = "";
        uint256 before = coordinator.balanceOf(requester);

        _gasPrice(0, 0);
        assertEq(_deliverOne(agreed).fee, MODEL_FEE, "an agreed answer: the model fee at no gas price");
        _warpToNoConsensus(undecided.commitment);
        Delivered memory result = _deliverOne(undecided);
        assertEq(uint256(result.status), uint256(ResultStatus.NoConsensus), "delivered as NoConsensus");
        assertEq(result.fee, 0, "no model fee, and gas was free");
        assertEq(
            coordinator.balanceOf(requester),
            before + agreed.commitment.escrow - MODEL_FEE + undecided.commitment.escrow,
            "the NoConsensus escrow back whole"
        );

        Fulfillment memory priced = _answer(QUORUM_2);
        priced.status = uint8(ResultStatus.NoConsensus);
        priced.output = "";
        _warpToNoConsensus(priced.commitment);
        _gasPrice(1 gwei, 0);
        result = _deliverOne(priced);
        assertTrue(result.fee != 0 && result.fee < MODEL_FEE, "the gas, well below a model fee");
        assertEq(coordinator.balanceOf(signers[1]), MODEL_FEE + result.fee, "the deliverer: fee + gas");
    }

    // ─── Co-signatures' gas ─────────────────────────────────────────────────────────────────────────

    /// @dev The same batch shape delivered twice from the same state at 1 gwei: two quorum-1 answers
    /// (`alone`), then a quorum-1 answer next to a quorum-3 answer with its two co-signatures (`mixed`).
    function _feesAloneAndMixed() internal returns (Delivered[] memory alone, Delivered[] memory mixed) {
        Fulfillment[] memory batch = new Fulfillment[](2);
        batch[0] = _fulfillment(_requestFor(MODEL_ID, signers[1]), "agreed");
        batch[1] = _fulfillment(_requestFor(MODEL_ID, signers[1]), "agreed");
        Fulfillment memory quorum = _answer(QUORUM_3);
        quorum.signatures = _cosign(quorum, _indices(0, 2));
        _gasPrice(1 gwei, 0);
        uint256 snapshot = vm.snapshotState();
        alone = _deliverBatch(batch);
        vm.revertToState(snapshot);
        batch[1] = quorum;
        mixed = _deliverBatch(batch);
        assertTrue(mixed[1].fee < quorum.commitment.escrow, "charges measured, not capped at the escrow");
    }

    function _deliverBatch(Fulfillment[] memory batch) internal returns (Delivered[] memory) {
        vm.recordLogs();
        _deliverAs(batch, signers[1]);
        return _delivered(vm.getRecordedLogs());
    }

    function test_quorum_signaturesMakeTheirOwnRequestPayMore() public {
        (Delivered[] memory alone, Delivered[] memory mixed) = _feesAloneAndMixed();
        assertTrue(mixed[1].fee > alone[1].fee, "the quorum request pays for its signatures");
    }

    /// @dev Co-signatures' checks are their request's own gas: a quorum-1 neighbour once paid ~30% of
    /// them (4,357 gas here for two signatures it never asked for, more than one whole ecrecover); now
    /// it pays only its weight's share of the signatures' calldata (~1,200 gas here).
    function test_quorumOneNeighbourDoesNotPayForTheSignatureChecks() public {
        (Delivered[] memory alone, Delivered[] memory mixed) = _feesAloneAndMixed();
        uint256 price = 1 gwei;
        uint256 extraGas = mixed[0].fee > alone[0].fee ? (mixed[0].fee - alone[0].fee) / price : 0;
        assertTrue(
            extraGas < 3_000,
            "a quorum-1 request pays less than one ecrecover for its neighbour's checks"
        );
    }
}
