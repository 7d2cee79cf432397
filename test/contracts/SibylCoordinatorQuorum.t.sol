// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SibylCoordinator} from "../../contracts/SibylCoordinator.sol";
import {IOperatorLedger} from "../../contracts/interfaces/IOperatorLedger.sol";
import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {
    Fulfillment,
    Model,
    RequestCommitment,
    ResultStatement,
    ResultStatus
} from "../../contracts/interfaces/SibylTypes.sol";
import {QuorumFixture} from "./utils/QuorumFixture.sol";
import {Delivered} from "./utils/SettlementFixture.sol";

/// @notice A quorum model's answer needs quorum − 1 other active operators' signatures of exactly that
/// answer to that request on this coordinator and chain; each test is an attempt to get an answer
/// through without them.
contract SibylCoordinatorQuorumTest is QuorumFixture {
    uint256 internal constant OUTSIDER_KEY = 0xA11CE;

    // ─── Agreement that must pass ──────────────────────────────────────────────────────────────────

    function test_quorum2_deliveryWithOneOtherOperatorsSignatureIsAnsweredAndEarnsTheModelFee() public {
        Fulfillment memory answer = _answer(QUORUM_2);
        answer.signatures = _cosign(answer, _indices(0));
        Delivered memory result = _deliverOne(answer);
        assertEq(uint256(result.status), uint256(ResultStatus.Ok), "answered Ok");
        assertGe(result.fee, MODEL_FEE, "the model fee is earned");
        assertEq(coordinator.balanceOf(signers[1]), result.fee, "paid to the deliverer");
    }

    function test_quorum3_deliveryWithTwoAscendingSignaturesIsAnswered() public {
        Fulfillment memory answer = _answer(QUORUM_3);
        answer.signatures = _cosign(answer, _indices(0, 3));
        _deliverOne(answer);
        // An error status is an answer too, vouched for the same way.
        Fulfillment memory failed = _answer(QUORUM_3);
        failed.status = uint8(ResultStatus.ModelError);
        failed.signatures = _cosign(failed, _indices(2, 3));
        assertEq(uint256(_deliverOne(failed).status), uint256(ResultStatus.ModelError), "error status");
    }

    function test_quorum3_fulfilWithAProofChecksTheSignaturesToo() public {
        Fulfillment memory answer = _answer(QUORUM_3);
        answer.signatures = _cosign(answer, _indices(0, 1));
        Fulfillment[] memory batch = _single(answer);
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch, signers[1]);
        vm.expectRevert(_invalidCosigner(answer.commitment.requestId, signers[1]));
        vm.prank(signers[1]);
        coordinator.fulfill(batch, newRoot, proof);

        batch[0].signatures = _cosign(answer, _indices(0, 2));
        _fulfillAs(batch, signers[1]);
        assertEq(log.root(), newRoot, "proven in with a valid quorum");
        assertEq(coordinator.commitmentOf(answer.commitment.requestId), bytes32(0), "answered");
    }

    function test_quorum2_lateFulfilByAnotherOperatorMayBeCosignedByTheLateAssignee() public {
        Fulfillment memory answer = _answer(QUORUM_2);
        vm.warp(answer.commitment.exclusiveUntil + 1);
        answer.signatures = _cosign(answer, _indices(1));
        _fulfillAs(_single(answer), signers[2]);
        assertEq(coordinator.commitmentOf(answer.commitment.requestId), bytes32(0), "answered by the taker");
    }

    /// @dev One forged result hidden in a batch sinks the whole batch: nothing is half delivered.
    function test_quorum_oneForgedResultInABatchRefusesTheWholeBatch() public {
        Fulfillment[] memory batch = new Fulfillment[](3);
        batch[0] = _answer(QUORUM_3);
        batch[0].signatures = _cosign(batch[0], _indices(0, 2));
        batch[1] = _answer(QUORUM_2);
        ResultStatement memory other = _statementOf(batch[1]);
        other.outputHash = keccak256("another answer");
        batch[1].signatures = _signStatement(keys[0], other);
        batch[2] = _answer(QUORUM_2);
        batch[2].signatures = _cosign(batch[2], _indices(3));
        address recovered = _recover(_digest(_statementOf(batch[1])), batch[1].signatures);
        _expectDeliverRejected(batch, signers[1], _invalidCosigner(batch[1].commitment.requestId, recovered));
        for (uint256 i; i < batch.length; ++i) {
            assertTrue(coordinator.commitmentOf(batch[i].commitment.requestId) != 0, "all still pending");
        }
        batch[1].signatures = _cosign(batch[1], _indices(2));
        _deliverAs(batch, signers[1]);
        for (uint256 i; i < batch.length; ++i) {
            assertEq(coordinator.commitmentOf(batch[i].commitment.requestId), bytes32(0), "all answered");
        }
    }

    // ─── Too few or too many ───────────────────────────────────────────────────────────────────────

    function test_quorum_missingOrExtraSignaturesAreRefused() public {
        Fulfillment memory two = _answer(QUORUM_2);
        uint256 id = two.commitment.requestId;
        _expectRefused(two, _wrongCount(id, 0, 1));
        two.signatures = _cosign(two, _indices(0, 2));
        _expectRefused(two, _wrongCount(id, 2, 1));

        Fulfillment memory three = _answer(QUORUM_3);
        id = three.commitment.requestId;
        three.signatures = _cosign(three, _indices(0));
        _expectRefused(three, _wrongCount(id, 1, 2));
        three.signatures = _cosign(three, _indices(0, 2, 3));
        _expectRefused(three, _wrongCount(id, 3, 2));
    }

    /// @dev Signature bytes are charged to the requester like output bytes: an operator must not pad them.
    function test_quorum_truncatedPaddedOrUnaskedSignatureBytesAreRefused() public {
        Fulfillment memory two = _answer(QUORUM_2);
        uint256 id = two.commitment.requestId;
        bytes memory valid = _cosign(two, _indices(0));
        two.signatures = bytes.concat(valid, hex"00");
        _expectRefused(two, _wrongCount(id, 1, 1));
        assembly ("memory-safe") {
            mstore(valid, 64)
        }
        two.signatures = valid;
        _expectRefused(two, _wrongCount(id, 0, 1));

        RequestCommitment memory single = _requestAssignedTo(operator);
        Fulfillment memory alone = _fulfillment(single, "agreed");
        alone.signatures = _cosign(alone, _indices(0));
        _expectDeliverRejected(_single(alone), operator, _wrongCount(single.requestId, 1, 0));
    }

    // ─── Signers that do not count ─────────────────────────────────────────────────────────────────

    function test_quorum_signatureOfAnAccountThatIsNoOperatorIsRefused() public {
        Fulfillment memory answer = _answer(QUORUM_2);
        answer.signatures = _signDigest(OUTSIDER_KEY, _digest(_statementOf(answer)));
        _expectRefused(answer, _invalidCosigner(answer.commitment.requestId, vm.addr(OUTSIDER_KEY)));
    }

    function test_quorum_signatureOfAnOperatorThatExitedIsRefused() public {
        Fulfillment memory answer = _answer(QUORUM_2);
        answer.signatures = _cosign(answer, _indices(0));
        vm.prank(signers[0]);
        ledger.requestOperatorExit();
        _expectRefused(answer, _invalidCosigner(answer.commitment.requestId, signers[0]));
    }

    function test_quorum_theDeliverersOwnSignatureDoesNotCount() public {
        Fulfillment memory two = _answer(QUORUM_2);
        two.signatures = _cosign(two, _indices(1));
        _expectRefused(two, _invalidCosigner(two.commitment.requestId, signers[1]));
        Fulfillment memory three = _answer(QUORUM_3);
        three.signatures = _cosign(three, _indices(0, 1));
        _expectRefused(three, _invalidCosigner(three.commitment.requestId, signers[1]));
    }

    function test_quorum_oneSignerTwiceIsRefused() public {
        Fulfillment memory answer = _answer(QUORUM_3);
        answer.signatures = _cosign(answer, _indices(0, 0));
        _expectRefused(answer, _invalidCosigner(answer.commitment.requestId, signers[0]));
    }

    /// @dev Ascending order is what makes "distinct" a single comparison; descending must not pass.
    function test_quorum_signersInDescendingOrderAreRefused() public {
        Fulfillment memory answer = _answer(QUORUM_3);
        answer.signatures = _cosign(answer, _indices(3, 0));
        _expectRefused(answer, _invalidCosigner(answer.commitment.requestId, signers[0]));
    }

    // ─── Signatures of something else ──────────────────────────────────────────────────────────────

    /// @dev `signature` stands for another statement: it recovers, against the delivered statement's
    /// digest, to some unrelated account, which the coordinator must name in its refusal.
    function _expectForeignRefused(Fulfillment memory answer, bytes memory signature) internal {
        answer.signatures = signature;
        address recovered = _recover(_digest(_statementOf(answer)), signature);
        assertTrue(recovered != signers[0], "the signature is not of the delivered statement");
        _expectRefused(answer, _invalidCosigner(answer.commitment.requestId, recovered));
    }

    function test_quorum_signatureOfAnotherOutputIsRefused() public {
        Fulfillment memory answer = _answer(QUORUM_2);
        ResultStatement memory other = _statementOf(answer);
        other.outputHash = keccak256("what the co-signer really got");
        _expectForeignRefused(answer, _signStatement(keys[0], other));
    }

    function test_quorum_signatureOfAnotherStatusIsRefused() public {
        Fulfillment memory answer = _answer(QUORUM_2);
        ResultStatement memory other = _statementOf(answer);
        other.status = uint8(ResultStatus.ModelError);
        _expectForeignRefused(answer, _signStatement(keys[0], other));
    }

    /// @dev Two requests with the same output: a co-signature of one must not carry the other.
    function test_quorum_signatureOfAnotherRequestIsRefused() public {
        Fulfillment memory first = _answer(QUORUM_2);
        Fulfillment memory second_ = _answer(QUORUM_2);
        bytes memory firstsSignature = _cosign(first, _indices(0));
        _expectForeignRefused(second_, firstsSignature);
        first.signatures = firstsSignature;
        _deliverOne(first);
    }

    function test_quorum_signatureForAnotherCoordinatorIsRefused() public {
        SibylCoordinator other = _newCoordinator(1);
        Fulfillment memory answer = _answer(QUORUM_2);
        ResultStatement memory statement = _statementOf(answer);
        bytes32 otherDigest = _digestFor(address(other), block.chainid, statement);
        assertEq(other.statementDigest(statement), otherDigest, "a valid signature there");
        _expectForeignRefused(answer, _signDigest(keys[0], otherDigest));
    }

    function test_quorum_signatureForAnotherChainIsRefused() public {
        Fulfillment memory answer = _answer(QUORUM_2);
        ResultStatement memory statement = _statementOf(answer);
        _expectForeignRefused(answer, _signDigest(keys[0], _digestFor(address(coordinator), 1, statement)));
    }

    /// @dev A fork: the same coordinator at the same address on a chain with a new id must not take
    /// signatures made for the original chain.
    function test_quorum_signatureMadeBeforeAForkIsRefusedAfterIt() public {
        Fulfillment memory answer = _answer(QUORUM_2);
        answer.signatures = _cosign(answer, _indices(0));
        bytes32 original = _digest(_statementOf(answer));
        vm.chainId(block.chainid + 1);
        _expectRefused(
            answer,
            _invalidCosigner(
                answer.commitment.requestId,
                _recover(_digest(_statementOf(answer)), answer.signatures)
            )
        );
        assertTrue(_digest(_statementOf(answer)) != original, "the digest moved with the chain id");
    }

    /// @dev The precompile takes s from either half of the curve order, so every signature has a twin
    /// of the same signer; accepting the twin would give one vote two encodings.
    function test_quorum_malleatedHighSSignatureIsRefused() public {
        Fulfillment memory answer = _answer(QUORUM_2);
        bytes memory signature = _cosign(answer, _indices(0));
        bytes memory twin = _malleated(signature);
        bytes32 digest = _digest(_statementOf(answer));
        assertEq(_recover(digest, twin), signers[0], "the twin recovers to the same signer");
        answer.signatures = twin;
        _expectRefused(answer, _invalidCosigner(answer.commitment.requestId, address(0)));
        answer.signatures = signature;
        _deliverOne(answer);
    }

    function test_quorum_garbageSignatureIsRefused() public {
        Fulfillment memory answer = _answer(QUORUM_2);
        answer.signatures = new bytes(65);
        _expectRefused(answer, _invalidCosigner(answer.commitment.requestId, address(0)));
    }

    // ─── Requests and parameters ───────────────────────────────────────────────────────────────────

    /// @dev A model whose quorum cannot be met would take escrows it can never answer but by NoConsensus.
    function test_request_refusedWhenFewerOperatorsAreActiveThanTheQuorum() public {
        uint256 active = ledger.activeOperators().length;
        coordinator.registerModel("all", _quorumModel(uint8(active)));
        coordinator.registerModel("more", _quorumModel(uint8(active + 1)));
        address[] memory operators = ledger.activeOperators();
        for (uint256 i; i < operators.length; ++i) {
            _declare(operators[i], "all");
            _declare(operators[i], "more");
        }
        uint256 escrow = coordinator.estimateFee("more", 0, block.basefee);
        vm.expectRevert(
            abi.encodeWithSelector(
                IOperatorLedger.NotEnoughOperators.selector,
                bytes32("more"),
                active,
                active + 1
            )
        );
        vm.prank(requester);
        coordinator.request{value: escrow}("more", "hi", 0, requester);

        vm.prank(requester);
        coordinator.request{value: escrow}("all", "hi", 0, requester);
        vm.prank(signers[0]);
        ledger.requestOperatorExit();
        vm.expectRevert(
            abi.encodeWithSelector(
                IOperatorLedger.NotEnoughOperators.selector,
                bytes32("all"),
                active - 1,
                active
            )
        );
        vm.prank(requester);
        coordinator.request{value: escrow}("all", "hi", 0, requester);
    }

    function test_statementDigest_isTheEip712DigestBuiltByHand() public {
        ResultStatement memory statement = ResultStatement({
            requestId: 42,
            outputHash: keccak256("yes"),
            status: uint8(ResultStatus.Ok)
        });
        assertEq(coordinator.statementDigest(statement), _digest(statement), "digest");
        statement.status = uint8(ResultStatus.NoConsensus);
        statement.requestId = type(uint256).max;
        assertEq(coordinator.statementDigest(statement), _digest(statement), "digest at the extremes");
        vm.chainId(31_337_000);
        assertEq(
            coordinator.statementDigest(statement),
            _digestFor(address(coordinator), 31_337_000, statement),
            "the chain id read at each call"
        );
    }

    function test_registerModel_quorumOutsideOneToSixteenIsRefused() public {
        uint8[2] memory invalid = [0, 17];
        for (uint256 i; i < invalid.length; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(ISibylCoordinator.InvalidQuorum.selector, bytes32("q"), invalid[i])
            );
            coordinator.registerModel("q", _quorumModel(invalid[i]));
            vm.expectRevert(
                abi.encodeWithSelector(ISibylCoordinator.InvalidQuorum.selector, QUORUM_2, invalid[i])
            );
            coordinator.updateModel(QUORUM_2, _quorumModel(invalid[i]));
        }
        coordinator.registerModel("q", _quorumModel(16));
        Model memory registered = coordinator.modelOf("q");
        assertEq(registered.quorum, 16, "the largest quorum is allowed");
    }

    /// @dev The owner cannot weaken what a pending request's requester trusted: a request made under
    /// quorum 2 cannot become deliverable on one operator's word.
    function test_updateModel_quorumCanBeRaisedButNeverLowered() public {
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.QuorumLowered.selector, QUORUM_2, 2, 1));
        coordinator.updateModel(QUORUM_2, _quorumModel(1));
        coordinator.updateModel(QUORUM_2, _quorumModel(3));
        assertEq(coordinator.modelOf(QUORUM_2).quorum, 3, "raised");
    }
}
